import type { Principal } from '../auth/principal';
import type { OperationInfo } from '../contract/spec';

declare global {
  namespace Express {
    // A property added here is also declared on ShapedRequest (src/http/server.ts), so requests keep one shape.
    interface Request {
      /** Set by the request-id middleware; echoed in X-Request-Id and every error body. */
      requestId: string;
      /** The matched operation, set right after the validator matches the route. */
      operation?: OperationInfo;
      /** The resolved credential, set by the authorization middleware. */
      auth?: Principal;
      /** Set by the rate limiter for the caller's bucket (GET /api/usage reports it). */
      rateLimit?: { limit: number; used: number; remaining: number; resetTime?: Date };
      /** The rate limits' own state between their stages (src/http/rate-limit.ts). */
      limits?: import('../http/rate-limit').LimitState;
      /** Set by express-openapi-validator's route matching. */
      openapi?: {
        expressRoute?: string;
        openApiRoute?: string;
        schema?: { operationId?: string };
        pathParams?: Record<string, string>;
        serial?: number;
      };
    }
  }
}

export {};
