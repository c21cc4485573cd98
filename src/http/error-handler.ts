import type { ErrorRequestHandler } from 'express';
import type { Logger } from 'pino';
import { ApiError } from '../core/errors';
import { assignRequestId } from './request-context';
import { NulInString, nulInBody } from './nul';

interface ValidatorError {
  status: number;
  message: string;
  errors?: Array<{ path?: string; message?: string; errorCode?: string }>;
  headers?: Record<string, string>;
}

const isValidatorError = (err: unknown): err is ValidatorError =>
  typeof err === 'object' && err !== null && typeof (err as ValidatorError).status === 'number' && Array.isArray((err as ValidatorError).errors);

/** Maps every failure (ours, the validator's, the body parser's) into the one envelope. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const type = (err as { type?: string })?.type;
  if (type === 'entity.too.large') {
    const limit = Number((err as { limit?: number }).limit ?? 0);
    return new ApiError('payload_too_large', `The request body is larger than ${describeBytes(limit)}.`, { limit_bytes: limit });
  }
  if (err instanceof NulInString) return nulInBody();
  if (type === 'entity.parse.failed') return new ApiError('invalid_json', 'The request body is not valid JSON.');
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') {
    return new ApiError('unsupported_media_type', 'Send the body as UTF-8 application/json.');
  }
  if (isValidatorError(err)) {
    const details = { errors: (err.errors ?? []).map((e) => ({ path: e.path, message: e.message })) };
    switch (err.status) {
      case 400: return new ApiError('validation_failed', summarise(err), details);
      case 404: return new ApiError('not_found', 'No operation at this path; see GET /openapi.yaml.');
      case 405: return new ApiError('method_not_allowed', err.message, undefined, err.headers?.Allow ? { Allow: err.headers.Allow } : undefined);
      case 413: return new ApiError('payload_too_large', err.message);
      case 415: return new ApiError('unsupported_media_type', 'Send the body as application/json.', details);
      case 500: return new ApiError('response_validation_failed', 'The response did not match the contract.', details);
      default: return new ApiError('invalid_request', err.message, details);
    }
  }
  if (isUnavailable(err)) return new ApiError('service_unavailable', 'The database is unavailable; try again shortly.', undefined, { 'Retry-After': '5' });
  const clientError = clientErrorOf(err);
  if (clientError) return clientError;
  return new ApiError('internal_error', 'Something went wrong on our side.');
}

/**
 * Everything else that failed because of the request (http-errors from body-parser's decoding, the
 * router's percent-decoding, static files): a 4xx in the envelope, never a 500. Messages are ours, not
 * the error's, since some echo the path (which may carry a token) or the body.
 */
function clientErrorOf(err: unknown): ApiError | undefined {
  if (err instanceof URIError) return new ApiError('invalid_path', 'The path is not valid percent-encoding.');
  const status = Number((err as { status?: number; statusCode?: number })?.status ?? (err as { statusCode?: number })?.statusCode);
  if (!(status >= 400 && status < 500)) return undefined;
  const type = (err as { type?: string }).type;
  if (type === 'encoding.unsupported') {
    return new ApiError('unsupported_media_type', 'This Content-Encoding is not accepted; send the body as identity, gzip, deflate or br.');
  }
  if (status === 413) return new ApiError('payload_too_large', 'The request body is too large.');
  if (status === 415) return new ApiError('unsupported_media_type', 'Send the body as UTF-8 application/json.');
  if (status === 404 || status === 403) return new ApiError('not_found', 'Not found.');
  if (status === 405) return new ApiError('method_not_allowed', 'This method is not allowed here.');
  // zlib and brotli failures: Z_DATA_ERROR, Z_BUF_ERROR, ERR__ERROR_FORMAT_PADDING_2 …
  const code = String((err as { code?: string }).code ?? '');
  if (code.startsWith('Z_') || code.startsWith('ERR__ERROR') || code.includes('BROTLI')) {
    return new ApiError('invalid_body', 'The request body does not decode with its Content-Encoding.');
  }
  return new ApiError('invalid_request', 'The request could not be read.');
}

function describeBytes(bytes: number): string {
  const mb = bytes / (1024 * 1024);
  return Number.isInteger(mb) ? `${mb} MB` : `${bytes} bytes`;
}

function summarise(err: ValidatorError): string {
  const first = err.errors?.[0];
  return first ? `Invalid request: ${first.path ?? ''} ${first.message ?? ''}`.replace(/\s+/g, ' ').trim() : err.message;
}

/**
 * The database is unreachable, closed or overloaded: fail closed with a 503 (never a 200 for a token
 * that could not be checked, never a 500 that looks like a bug), and let the client retry.
 */
function isUnavailable(err: unknown): boolean {
  const code = (err as { code?: string })?.code;
  return ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'SQLITE_BUSY', 'SQLITE_CANTOPEN', '57P01', '57P02', '57P03', '53300', '08006', '08003', '08001',
    // The hot-path reader's (the `postgres` driver's) own codes for a lost, closed or unreachable connection.
    'CONNECTION_CLOSED', 'CONNECTION_DESTROYED', 'CONNECTION_ENDED', 'CONNECT_TIMEOUT'].includes(code ?? '') ||
    /Timeout acquiring a connection|Unable to acquire a connection|connection is not open|Connection terminated|Client has encountered a connection error|aborted|pool is probably full/i
      .test(String((err as Error)?.message));
}

export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const apiError = toApiError(err);
    if (apiError.status >= 500) {
      log.error({ request_id: req.requestId, operation_id: req.operation?.operationId, err: { message: (err as Error)?.message, stack: (err as Error)?.stack, type: (err as Error)?.name } }, 'request failed');
    }
    if (res.headersSent) return;
    res.locals.errorCode = apiError.code;
    // Requests answered outside the operation pipeline (docs, spec) get their id here.
    const requestId = req.requestId ?? assignRequestId(req, res);
    for (const [name, value] of Object.entries(apiError.headers ?? {})) res.set(name, value);
    const envelope = {
      error: {
        code: apiError.code,
        message: apiError.message,
        request_id: requestId,
        ...(apiError.details ? { details: apiError.details } : {}),
      },
    };
    try {
      // The MCP endpoint speaks JSON-RPC even about a body it cannot read (JSON-RPC 2.0 §5.1).
      if ((apiError.status === 400 || apiError.status === 406) && req.operation?.modes.has('mcp')) {
        res.status(apiError.status).json({ jsonrpc: '2.0', id: null, error: { code: apiError.code === 'invalid_json' ? -32700 : -32600, message: apiError.message, data: envelope.error } });
        return;
      }
      res.status(apiError.status).json(envelope);
    } catch (validationError) {
      // With response validation on (tests), a status the operation does not declare is a contract
      // bug: say so loudly instead of sending an empty 500.
      log.error({ request_id: req.requestId, operation_id: req.operation?.operationId, status: apiError.status, err: (validationError as Error).message }, 'undeclared error response');
      if (!res.headersSent) {
        res.status(500).type('application/json').end(JSON.stringify({
          error: { code: 'response_validation_failed', message: `${apiError.status} ${apiError.code} is not declared for this operation.`, request_id: requestId },
        }));
      }
    }
  };
}
