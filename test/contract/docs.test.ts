import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import request from 'supertest';
import { parse } from 'yaml';
import { startTestApp, TestApp } from '../helpers/app';

const root = resolve(__dirname, '../..');
let t: TestApp;
// test/global-setup.ts builds the docs before the run.
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

describe('documentation', () => {
  it('serves Redoc at /docs with no script from a CDN, and every operation shows its access', async () => {
    const res = await request(t.app).get('/docs');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.text).toContain('GetPaidX API');
    expect(res.text).not.toMatch(/<script[^>]+src=["']https?:/);
    expect(res.text).toContain('**Access:** personal access token');
    expect(res.text).toContain('**Scopes:** `posts:write`');
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
  });

  it('serves the contract as YAML and JSON', async () => {
    const yaml = await request(t.app).get('/openapi.yaml');
    expect(yaml.status).toBe(200);
    expect(yaml.text).toBe(readFileSync(join(root, 'generated/openapi.yaml'), 'utf8'));
    const json = await request(t.app).get('/openapi.json');
    expect(json.body).toEqual(parse(yaml.text));
  });
});
