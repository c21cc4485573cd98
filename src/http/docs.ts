import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import express, { Router } from 'express';
import helmet from 'helmet';
import type { Contract } from '../contract/spec';
import { ApiError } from '../core/errors';

/**
 * The human and machine views of the contract, outside the operation pipeline because they are not
 * operations: `/docs` (Redoc, built by `npm run docs:build` with everything inlined, so no CDN is
 * contacted at view time), `/openapi.yaml` (the source) and `/openapi.json` (the same, parsed).
 */
export function docsRouter(contract: Contract, projectRoot: string, specPath: string): Router {
  const router = express.Router();
  const yaml = readFileSync(specPath);
  const json = Buffer.from(JSON.stringify(contract.document));
  const built = join(projectRoot, 'docs/build/index.html');

  router.get('/openapi.yaml', helmet(), (_req, res) => {
    res.type('application/yaml').set('Cache-Control', 'public, no-cache').send(yaml);
  });
  router.get('/openapi.json', helmet(), (_req, res) => {
    res.type('application/json').set('Cache-Control', 'public, no-cache').send(json);
  });
  // Redoc runs inline scripts and a blob: worker; everything else stays locked to this origin.
  const docsHeaders = helmet({
    contentSecurityPolicy: {
      directives: {
        'script-src': ["'self'", "'unsafe-inline'"],
        'style-src': ["'self'", "'unsafe-inline'"],
        'img-src': ["'self'", 'data:'],
        'worker-src': ["'self'", 'blob:'],
      },
    },
  });
  router.get(['/docs', '/docs/'], docsHeaders, (req, res, next) => {
    if (!existsSync(built)) {
      next(new ApiError('not_found', 'The docs are not built: run `npm run docs:build` (npm start does it).'));
      return;
    }
    res.sendFile(built, (err) => err && next(err));
  });
  return router;
}
