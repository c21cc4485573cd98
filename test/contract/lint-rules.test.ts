/**
 * Each of our Redocly rules fails on a spec that breaks it, and the real openapi.yaml passes them all.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';

const run = promisify(execFile);
const root = resolve(__dirname, '../..');
const redocly = join(root, 'node_modules/.bin/redocly');
const spec = parse(readFileSync(join(root, 'generated/openapi.yaml'), 'utf8'));
const dir = mkdtempSync(join(tmpdir(), 'gpx-lint-'));

async function lint(document: object): Promise<{ ok: boolean; output: string }> {
  const file = join(dir, `spec-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, stringify(document));
  try {
    const { stdout, stderr } = await run(redocly, ['lint', file, '--config', join(root, 'redocly.yaml'), '--format', 'stylish'], {
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    });
    return { ok: true, output: stdout + stderr };
  } catch (err: any) {
    return { ok: false, output: `${err.stdout}${err.stderr}` };
  }
}

function mutate(change: (doc: any) => void): object {
  const doc = structuredClone(spec);
  change(doc);
  return doc;
}

describe('contract lint rules', () => {
  it('pass on the bundled openapi.yaml', async () => {
    const { ok, output } = await lint(spec);
    expect(output).not.toMatch(/gpx\//);
    expect(ok).toBe(true);
  }, 60_000);

  it.each([
    ['operation-operationId', 'an operation without operationId', (d: any) => delete d.paths['/api/posts'].get.operationId],
    ['gpx/auth-modes-declared', 'an operation without x-auth-modes', (d: any) => delete d.paths['/api/posts'].get['x-auth-modes']],
    ['gpx/auth-modes-declared', 'an empty x-auth-modes', (d: any) => (d.paths['/api/posts'].get['x-auth-modes'] = [])],
    ['gpx/auth-modes-known', 'an unknown mode', (d: any) => (d.paths['/api/posts'].get['x-auth-modes'] = ['pat', 'apikey'])],
    ['gpx/scopes-declared', 'a pat operation without x-scopes', (d: any) => delete d.paths['/api/posts'].get['x-scopes']],
    ['gpx/scopes-registered', 'an unregistered scope', (d: any) => (d.paths['/api/posts'].get['x-scopes'] = ['posts:delete'])],
    ['gpx/scopes-registered', 'a role naming an unregistered scope', (d: any) => d['x-roles'].viewer.scopes.push('god:mode')],
    ['gpx/security-matches-modes', 'security out of step with the modes', (d: any) => (d.paths['/api/posts'].get.security = [])],
    ['operation-id-camel-case', 'a snake_case operationId', (d: any) => (d.paths['/api/posts'].get.operationId = 'list_posts')],
    ['gpx/responses-documented', 'a protected operation without 401', (d: any) => delete d.paths['/api/posts'].get.responses['401']],
    ['gpx/responses-documented', 'an operation with an id but no 404', (d: any) => delete d.paths['/api/posts/{postId}'].get.responses['404']],
    ['gpx/responses-documented', 'an operation taking input without 400', (d: any) => delete d.paths['/api/posts'].post.responses['400']],
    ['gpx/responses-documented', 'an operation without 429', (d: any) => delete d.paths['/api/me'].get.responses['429']],
    ['gpx/responses-documented', 'an operation without a 2xx', (d: any) => delete d.paths['/api/me'].get.responses['200']],
    ['gpx/idempotency-key-declared', 'a creating POST without Idempotency-Key', (d: any) => delete d.paths['/api/posts'].post.parameters],
    ['gpx/responses-documented', 'an operation without 400', (d: any) => delete d.paths['/api/me'].get.responses['400']],
    ['gpx/responses-documented', 'an operation without the default error', (d: any) => delete d.paths['/api/me'].get.responses.default],
    ['gpx/responses-documented', 'an operation with a body without 413', (d: any) => delete d.paths['/api/posts'].post.responses['413']],
    ['gpx/responses-documented', 'an operation with a body without 415', (d: any) => delete d.paths['/api/posts'].post.responses['415']],
    ['gpx/response-headers-declared', 'a response without X-Request-Id', (d: any) => delete d.paths['/api/me'].get.responses['200'].headers['X-Request-Id']],
    ['gpx/response-headers-declared', 'a rate-limited response without RateLimit', (d: any) => delete d.paths['/api/me'].get.responses['200'].headers['RateLimit']],
    ['gpx/response-headers-declared', 'a shared error response without X-Request-Id', (d: any) => delete d.components.responses.NotFound.headers['X-Request-Id']],
    ['gpx/response-headers-declared', 'an idempotent operation without Idempotent-Replayed', (d: any) => delete d.paths['/api/posts'].post.responses['201'].headers['Idempotent-Replayed']],
    ['gpx/error-codes-registered', 'x-errors naming an unknown code', (d: any) => d.paths['/api/transfers'].post['x-errors'].push({ status: 409, code: 'made_up', when: 'never' })],
    ['gpx/error-codes-registered', 'x-errors giving a code another status', (d: any) => (d.paths['/api/transfers'].post['x-errors'][0].status = 400)],
    ['gpx/error-codes-registered', 'an enum and x-codes that differ', (d: any) => d.components.schemas.ErrorCode.enum.push('orphan')],
    ['gpx/responses-documented', 'a request body without an example', (d: any) => delete d.paths['/api/posts'].post.requestBody.content['application/json'].example],
  ])('%s fails on %s', async (rule, _what, change) => {
    const { ok, output } = await lint(mutate(change));
    expect(ok).toBe(false);
    expect(output).toContain(rule);
  }, 60_000);
});
