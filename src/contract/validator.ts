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
  /** Matches the route (404 / 405) and sets req.openapi; runs before authorization. */
  match: RequestHandler[];
  /** Validates parameters and the parsed body, and (in tests) every response; runs after authorization. */
  validate: RequestHandler[];
}

/**
 * The validator ships as one chain; we split it by its stage names so that authorization can run
 * between route matching and body validation: a caller without the scope gets 403 before its body is
 * even looked at.
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
  const validate = [pick('requestMiddleware')];
  if (validateResponses) validate.push(pick('responseMiddleware'));
  return { match: [pick('metadataMiddleware')], validate };
}
