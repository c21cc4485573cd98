import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import { specValidator } from './schema-validator';
import type { Contract, OperationInfo } from './spec';

/**
 * Tests (VALIDATE_RESPONSES, on outside production): every JSON answer must have a status the operation
 * names in the contract (`default` does not count: it documents other errors for clients) and a body
 * matching that status's schema. A breach is answered 500 response_validation_failed and logged, so the
 * test that caused it fails loudly.
 */
export function responseValidation(contract: Contract, log: Logger): RequestHandler {
  const validate = specValidator(contract.document);
  const responsesOf = (op: OperationInfo) => contract.document.paths[op.path][op.method.toLowerCase()].responses as Record<string, any>;

  function problemWith(op: OperationInfo, status: number, body: unknown): string | undefined {
    const responses = responsesOf(op);
    const declared = responses[String(status)] ?? responses[`${String(status)[0]}XX`];
    if (!declared) return `status ${status} is not declared for ${op.operationId}`;
    const response = declared.$ref ? contract.document.components.responses[declared.$ref.split('/').pop()] : declared;
    const schema = response?.content?.['application/json']?.schema;
    if (!schema) return body === undefined ? undefined : `${op.operationId} declares no JSON body for ${status}`;
    const mismatch = validate(schema, body);
    return mismatch ? `the ${status} body of ${op.operationId} does not match its schema: ${mismatch}` : undefined;
  }

  return (req, res, next) => {
    const op = req.operation;
    if (!op) return next();
    const send = res.json.bind(res);
    res.json = ((body: unknown) => {
      const problem = problemWith(op, res.statusCode, body);
      if (!problem) return send(body);
      log.error({ request_id: req.requestId, operation_id: op.operationId, status: res.statusCode, problem }, 'response outside the contract');
      res.status(500);
      return send({ error: { code: 'response_validation_failed', message: `The response did not match the contract: ${problem}.`, request_id: req.requestId } });
    }) as typeof res.json;
    next();
  };
}
