import type { RequestHandler } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import { compilePathParameterChecks } from './path-parameters';
import type { Contract } from './spec';

export interface ValidatorStages {
  /** Validates parameters and the parsed body, and (in tests) every response; runs after authorization. */
  validate: RequestHandler[];
}

/**
 * The validator ships as one chain (match route → … → validate request → validate response). We keep
 * its validation stages and match routes ourselves (contract/router.ts), so that authorization runs
 * between matching and body validation — a caller without the scope gets 403 before its body is even
 * looked at — and matching costs the same for the last operation as for the first.
 *
 * With response validation on (tests), the validator's own route matching also runs, after ours, only
 * to attach the response schemas that its response stage reads; production never runs that scan.
 */
export function createValidatorStages(contract: Contract, specPath: string, validateResponses: boolean): ValidatorStages {
  const chain = OpenApiValidator.middleware({
    apiSpec: specPath,
    validateRequests: { allowUnknownQueryParameters: false },
    validateResponses: validateResponses ? { removeAdditional: false } : false,
    validateSecurity: false,
    validateFormats: true,
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
  const validate = validateResponses ? [pick('metadataMiddleware'), request, pick('responseMiddleware')] : [request];
  return { validate };
}

/** The validator's request stage, except for path-parameter-only calls (see path-parameters.ts). */
function requestStage(contract: Contract, validatorStage: RequestHandler): RequestHandler {
  const checks = compilePathParameterChecks(contract);
  return (req, res, next) => {
    const check = checks.get(req.operation!.operationId);
    if (!check || req.url.includes('?')) return validatorStage(req, res, next);
    const refusal = check(req.openapi!.pathParams as Record<string, string>);
    next(refusal);
  };
}
