import type { RequestHandler } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import { isDateTime } from '../core/datetime';
import { ApiError, invalidInput } from '../core/errors';
import { compilePathParameterChecks } from './path-parameters';
import type { Contract } from './spec';

export interface ValidatorStages {
  /** Validates parameters and the parsed body; runs after authorization. */
  validate: RequestHandler[];
}

/**
 * The validator ships as one chain (match route → … → validate request → validate response). We keep
 * its request stage and match routes ourselves (contract/router.ts), so that authorization runs
 * between matching and body validation — a caller without the scope gets 403 before its body is even
 * looked at — and matching costs the same for the last operation as for the first. Responses are
 * checked (in tests) by contract/response-validation.ts.
 */
export function createValidatorStages(contract: Contract, specPath: string): ValidatorStages {
  const chain = OpenApiValidator.middleware({
    apiSpec: specPath,
    validateRequests: { allowUnknownQueryParameters: false },
    // Responses are checked by our own stage (response-validation.ts), in tests only.
    validateResponses: false,
    validateSecurity: false,
    validateFormats: true,
    // What the validator lets through, the code can parse: no leap seconds, no month 13, no +25:00.
    formats: { 'date-time': { type: 'string', validate: isDateTime } },
    fileUploader: false,
    ignoreUndocumented: false,
  }) as unknown as RequestHandler[];
  const byName = new Map(chain.map((mw) => [mw.name, mw]));
  const pick = (name: string) => {
    const mw = byName.get(name);
    if (!mw) throw new Error(`express-openapi-validator has no ${name} stage; its internals changed (stages: ${[...byName.keys()].join(', ')})`);
    return mw;
  };
  const request = requestStage(contract, pick('requestMiddleware'));
  return { validate: [request] };
}

const DECIMAL_INTEGER = /^-?\d{1,15}$/;

/**
 * The validator coerces query text to numbers before checking them, and `1e400` becomes Infinity,
 * which passes an integer type check and its maximum. An integer parameter is refused unless its text
 * is a plain decimal integer.
 */
function checkIntegerQuery(names: readonly string[], query: Record<string, unknown>): ApiError | undefined {
  for (const name of names) {
    const value = query[name];
    if (value === undefined) continue;
    if (typeof value !== 'string' || !DECIMAL_INTEGER.test(value)) {
      return invalidInput(`/query/${name}`, `Invalid request: query parameter ${name} must be a decimal integer.`, 'must be a decimal integer');
    }
  }
  return undefined;
}

/** The validator's request stage, except for path-parameter-only calls (see path-parameters.ts). */
function requestStage(contract: Contract, validatorStage: RequestHandler): RequestHandler {
  const checks = compilePathParameterChecks(contract);
  return (req, res, next) => {
    const operation = req.operation!;
    if (operation.integerQueryParameters.length > 0 && req.url.includes('?')) {
      const refusal = checkIntegerQuery(operation.integerQueryParameters, req.query as Record<string, unknown>);
      if (refusal) return next(refusal);
    }
    const check = checks.get(operation.operationId);
    if (!check || req.url.includes('?')) return validatorStage(req, res, next);
    const refusal = check(req.openapi!.pathParams as Record<string, string>);
    next(refusal);
  };
}
