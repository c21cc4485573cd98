import type { OperationInfo } from '../../src/contract/spec';
import { specValidator } from '../../src/contract/schema-validator';
import { resolve } from './schema-arbitrary';

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

export interface Verdict {
  problem: string;
}

/**
 * Judges each answer against the contract with a validator of its own: Ajv (JSON Schema 2020-12) with
 * strict, full-mode formats over the spec as written, not express-openapi-validator, which the server
 * itself uses. An answer passes when it is not a 5xx, its status is declared for the operation, a JSON
 * body matches the declared schema, an error uses the envelope with the request's id, and no known
 * secret appears in it.
 */
export function createOracle(document: Record<string, any>, secrets: () => Iterable<string>) {
  const validate = specValidator(document);
  const schemaOf = (op: OperationInfo, status: string): object | undefined =>
    resolve(document, document.paths[op.path][op.method.toLowerCase()].responses?.[status])?.content?.['application/json']?.schema;

  function declaredStatus(op: OperationInfo, status: number): string | undefined {
    const responses = document.paths[op.path][op.method.toLowerCase()].responses ?? {};
    if (responses[String(status)]) return String(status);
    // `default` documents the envelope of any other error for clients; it does not count as declaring
    // a status: every status the server sends must be named.
    return responses[`${String(status)[0]}XX`] ? `${String(status)[0]}XX` : undefined;
  }

  return {
    judge(op: OperationInfo, answer: Answer, options: { pathMangled: boolean }): Verdict[] {
      const problems: Verdict[] = [];
      const { status, text } = answer;
      if (status >= 500) problems.push({ problem: `${status} server error` });
      const requestId = answer.headers.get('x-request-id');
      const json = (answer.headers.get('content-type') ?? '').includes('application/json');
      let body: any;
      if (json && text) {
        try {
          body = JSON.parse(text);
        } catch {
          problems.push({ problem: 'a JSON content type with a body that is not JSON' });
        }
      }
      // The MCP endpoint answers a body it cannot take with a JSON-RPC error, as JSON-RPC asks.
      const jsonRpcError = op.modes.has('mcp') && body?.jsonrpc === '2.0' && typeof body?.error?.code === 'number';
      if (status >= 400 && !jsonRpcError) {
        const envelope = body?.error;
        if (!envelope || typeof envelope.code !== 'string' || typeof envelope.message !== 'string' || typeof envelope.request_id !== 'string') {
          problems.push({ problem: 'an error without the envelope {error: {code, message, request_id}}' });
        } else if (requestId && envelope.request_id !== requestId) {
          problems.push({ problem: `error request_id ${envelope.request_id} is not the X-Request-Id ${requestId}` });
        }
      }
      if (!requestId && status !== 304) problems.push({ problem: 'no X-Request-Id' });

      // A request whose path no longer names this operation (a raw "..", say) may end at no operation.
      const unmatched = options.pathMangled && (status === 404 || status === 405);
      const declared = declaredStatus(op, status);
      if (!declared && !unmatched) problems.push({ problem: `status ${status} is not declared for ${op.operationId}` });
      if (declared && body !== undefined && !unmatched) {
        const schema = schemaOf(op, declared);
        const mismatch = schema ? validate(schema, body) : undefined;
        if (mismatch) problems.push({ problem: `body does not match the ${declared} schema: ${mismatch}` });
      }
      for (const secret of secrets()) {
        if (secret && text.includes(secret)) problems.push({ problem: `a secret (${secret.slice(0, 12)}…) appears in the answer` });
      }
      return problems;
    },
  };
}
