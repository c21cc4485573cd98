/** The one error type; the error middleware renders it as the envelope of DESIGN §3. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const notFound = (what: string) => new ApiError(404, 'not_found', `${what} not found.`);
export const conflict = (code: string, message: string, details?: Record<string, unknown>) =>
  new ApiError(409, code, message, details);
export const badRequest = (code: string, message: string, details?: Record<string, unknown>) =>
  new ApiError(400, code, message, details);
export const tooManyRequests = (retryAfterSeconds: number, message: string) =>
  new ApiError(429, 'rate_limited', message, { retry_after_seconds: retryAfterSeconds }, {
    'Retry-After': String(retryAfterSeconds),
  });
