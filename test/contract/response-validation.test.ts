/**
 * The tests' response validation (src/contract/response-validation.ts) refuses what the contract does
 * not allow: an undeclared status (`default` does not count) or a body off its schema. Run here on the
 * real contract with handlers that misbehave on purpose.
 */
import express from 'express';
import request from 'supertest';
import { responseValidation } from '../../src/contract/response-validation';
import { loadContract } from '../../src/contract/spec';
import { createLogger } from '../../src/core/logger';
import { SPEC_PATH } from '../helpers/spec';

const contract = loadContract(SPEC_PATH);

function appAnswering(operationId: string, status: number, body: unknown) {
  const app = express();
  app.use((req, _res, next) => {
    req.operation = contract.operations.get(operationId)!;
    req.requestId = 'req_test0000';
    next();
  });
  app.use(responseValidation(contract, createLogger('silent')));
  app.get('/', (_req, res) => {
    res.status(status).json(body);
  });
  return app;
}

it('passes an answer the contract allows', async () => {
  const res = await request(appAnswering('getHealth', 200, { status: 'ok', database: 'ok' })).get('/');
  expect(res.status).toBe(200);
});

it('refuses a body that breaks its schema', async () => {
  const res = await request(appAnswering('getHealth', 200, { status: 'ok' })).get('/');
  expect(res.status).toBe(500);
  expect(res.body.error.code).toBe('response_validation_failed');
  expect(res.body.error.message).toContain("must have required property 'database'");
});

it('refuses a status the operation does not declare, even with a default response', async () => {
  const res = await request(appAnswering('getPost', 402, { error: { code: 'not_found', message: 'x', request_id: 'req_test0000' } })).get('/');
  expect(res.status).toBe(500);
  expect(res.body.error.message).toContain('status 402 is not declared for getPost');
});

it('refuses an error code outside the registry', async () => {
  const res = await request(appAnswering('getPost', 404, { error: { code: 'made_up', message: 'x', request_id: 'req_test0000' } })).get('/');
  expect(res.status).toBe(500);
  expect(res.body.error.message).toContain('/error/code');
});
