import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type { RequestHandler } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';

const localRequire = createRequire(__filename);

/**
 * express-openapi-validator compiles every spec path with path-to-regexp on every request while it
 * scans for the matching route, so its cost grows with the size of the API (DESIGN §7; upstream has an
 * open change that caches the matchers). Compiling each (path, options) pair once makes the scan a
 * loop of precompiled regex tests, and the last operation costs the same as the first. The compiled
 * objects hold non-global regexes, so sharing them is safe.
 */
function memoizeValidatorRouteMatching(): void {
  const validatorDir = dirname(localRequire.resolve('express-openapi-validator'));
  const pathToRegexpModule = localRequire(localRequire.resolve('path-to-regexp', { paths: [validatorDir] }));
  if (pathToRegexpModule.__gpxMemoized) return;
  const original = pathToRegexpModule.pathToRegexp as (path: string, options?: object) => unknown;
  const cache = new Map<string, unknown>();
  pathToRegexpModule.pathToRegexp = (path: string, options?: object) => {
    if (typeof path !== 'string') return original(path, options);
    const key = `${path}\u0000${JSON.stringify(options ?? {})}`;
    let compiled = cache.get(key);
    if (!compiled) {
      compiled = original(path, options);
      cache.set(key, compiled);
    }
    return compiled;
  };
  pathToRegexpModule.__gpxMemoized = true;
}

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
 * to attach the response schemas that its response stage reads.
 */
export function createValidatorStages(specPath: string, validateResponses: boolean): ValidatorStages {
  memoizeValidatorRouteMatching();
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
  const validate = validateResponses
    ? [pick('metadataMiddleware'), pick('requestMiddleware'), pick('responseMiddleware')]
    : [pick('requestMiddleware')];
  return { validate };
}
