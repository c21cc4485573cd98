/**
 * The hot path leans on express-openapi-validator's internals (src/contract/validator.ts): the name of
 * its request stage, and the `req.openapi` fields it reads, which our router fills instead of its own
 * route scan. The package is pinned exactly; this fails when an upgrade changes either, before any
 * request does.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import express from 'express';
import request from 'supertest';
import { createValidatorStages } from '../../src/contract/validator';
import { loadContract } from '../../src/contract/spec';
import { matchOperation } from '../../src/contract/router';
import { SPEC_PATH } from '../helpers/spec';

const root = resolve(__dirname, '../..');

it('is pinned to the exact version installed', () => {
  const wanted = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8')).dependencies['express-openapi-validator'];
  const installed = JSON.parse(readFileSync(resolve(root, 'node_modules/express-openapi-validator/package.json'), 'utf8')).version;
  expect(wanted).toMatch(/^\d+\.\d+\.\d+$/);
  expect(installed).toBe(wanted);
});

it('still validates a request from the req.openapi our router fills in', async () => {
  const contract = loadContract(SPEC_PATH);
  const { validate } = createValidatorStages(contract, SPEC_PATH);
  expect(validate).toHaveLength(1);
  const app = express();
  app.set('query parser', 'extended');
  app.use(matchOperation(contract), ...validate, (req, res) => {
    res.json({ query: req.query, seen: req.openapi?.openApiRoute });
  });
  app.use(((err, _req, res, _next) => res.status(err.status ?? 500).json({ status: err.status, message: err.message })) as express.ErrorRequestHandler);
  const ok = await request(app).get('/api/posts?limit=5');
  // Coerced to numbers, with the spec's default filled in: the validator read our req.openapi.schema.
  expect(ok.body).toEqual({ query: { limit: 5, page: 1 }, seen: '/api/posts' });
  const refused = await request(app).get('/api/posts?limit=500');
  expect(refused.status).toBe(400);
  expect(refused.body.message).toContain('limit');
});
