import { ApiError } from '../core/errors';

const REALM = 'Bearer realm="getpaidx"';

/** No credential at all: RFC 6750 §3.1 says the challenge carries no error code. */
export function authenticationRequired(message = 'Send a personal access token, a JWT or a session cookie.'): ApiError {
  return new ApiError('authentication_required', message, undefined, { 'WWW-Authenticate': REALM });
}

export function invalidToken(message: string, details?: Record<string, unknown>): ApiError {
  return new ApiError('invalid_token', message, details, {
    'WWW-Authenticate': `${REALM}, error="invalid_token", error_description="${message.replace(/"/g, "'")}"`,
  });
}

export function invalidRequest(message: string): ApiError {
  return new ApiError('invalid_request', message, undefined, {
    'WWW-Authenticate': `${REALM}, error="invalid_request"`,
  });
}

export function insufficientScope(details: {
  operation_id: string;
  required_scopes: readonly string[];
  granted_scopes: readonly string[];
  missing_scopes: readonly string[];
}): ApiError {
  const missing = details.missing_scopes.join(' ');
  return new ApiError('insufficient_scope',
    `This operation (${details.operation_id}) needs the scope${details.missing_scopes.length > 1 ? 's' : ''} ${details.missing_scopes.join(', ')}, which this credential lacks.`,
    { ...details },
    { 'WWW-Authenticate': `${REALM}, error="insufficient_scope", scope="${missing}"` },
  );
}
