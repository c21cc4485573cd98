import Ajv, { ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { error as validatorErrors } from 'express-openapi-validator';
import { Contract, OperationInfo, resolveRef } from './spec';

/** Checks an operation's path parameters; returns the validator-style 400 to send, or undefined. */
export type PathParameterCheck = (pathParams: Record<string, string>) => Error | undefined;

/**
 * Most reads take nothing but path parameters (GET /api/posts/{postId}), or nothing at all. For those, when the URL has no
 * query string, there is nothing for the validator's request stage to do but check a few strings, yet
 * it costs ~20 µs a request (a promise, a cache lookup, coercion of every request part). These checks
 * are compiled once, with Ajv, from the same schemas, and fail with the same error the validator
 * gives (`/params/<name> must match pattern …`). Operations with any other input (query, header,
 * cookie parameters, a body) or with schemas this cannot take whole (nested `$ref`) keep the validator.
 */
export function compilePathParameterChecks(contract: Contract): Map<string, PathParameterCheck> {
  const ajv = new Ajv({ allErrors: false, strict: false });
  addFormats(ajv);
  const checks = new Map<string, PathParameterCheck>();
  for (const op of contract.operations.values()) {
    const validate = compile(ajv, contract, op);
    if (validate === 'nothing to check') checks.set(op.operationId, () => undefined);
    if (typeof validate !== 'function') continue;
    checks.set(op.operationId, (pathParams) => {
      if (validate(pathParams)) return undefined;
      const first = validate.errors![0]!;
      const path = `/params${first.instancePath || `/${String(first.params.missingProperty ?? '')}`}`;
      const message = first.message ?? 'is invalid';
      return new validatorErrors.BadRequest({ path, message, errors: [{ path, message }] });
    });
  }
  return checks;
}

function compile(ajv: Ajv, contract: Contract, op: OperationInfo): ValidateFunction | 'nothing to check' | undefined {
  if (op.schema.requestBody) return undefined;
  const parameters = ((op.schema.parameters ?? []) as Array<Record<string, any>>)
    .map((p) => (p.$ref ? resolveRef(contract.document, p.$ref) : p) as Record<string, any>);
  if (parameters.some((p) => p.in !== 'path')) return undefined;
  if (parameters.length === 0) return 'nothing to check';
  const properties: Record<string, unknown> = {};
  for (const p of parameters) {
    const schema = p.schema?.$ref ? resolveRef(contract.document, p.schema.$ref) : p.schema;
    // Strings only: the validator would coerce other types, and handlers read path parameters as strings.
    if (!schema || schema.type !== 'string' || JSON.stringify(schema).includes('"$ref"')) return undefined;
    properties[p.name] = schema;
  }
  return ajv.compile({ type: 'object', properties, required: parameters.map((p) => p.name) });
}
