import { ERROR_CODES, ErrorCode } from '../../generated/error-codes';

export type { ErrorCode };

/**
 * The one error type; the error middleware renders it as the envelope of DESIGN §3. Its code is one of
 * the contract's closed set (openapi/components/schemas/ErrorCode.yaml, generated/error-codes.ts), and
 * the code alone decides the HTTP status, so a code always means the same thing.
 */
export class ApiError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = ERROR_CODES[code];
  }
}

/** A refusal with a code from the contract's registry. */
export const fail = (code: ErrorCode, message: string, details?: Record<string, unknown>, headers?: Record<string, string>) =>
  new ApiError(code, message, details, headers);

/**
 * A 400 for one input that breaks a rule the schema cannot state, in the shape the validator gives its
 * own (`details.errors[].path` names the input, e.g. `/query/starting_after`), so a client handles both alike.
 */
export const invalidInput = (path: string, message: string, problem: string) =>
  new ApiError('validation_failed', message, { errors: [{ path, message: problem }] });

export const notFound = (what: string) => new ApiError('not_found', `${what} not found.`);

export const tooManyRequests = (retryAfterSeconds: number, message: string) =>
  new ApiError('rate_limited', message, { retry_after_seconds: retryAfterSeconds }, {
    'Retry-After': String(retryAfterSeconds),
  });
