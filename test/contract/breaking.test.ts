/** `npm run check:breaking` against fixtures made from openapi.yaml by one change each. */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';

const run = promisify(execFile);
const root = resolve(__dirname, '../..');
const spec = parse(readFileSync(join(root, 'generated/openapi.yaml'), 'utf8'));
const dir = mkdtempSync(join(tmpdir(), 'gpx-breaking-'));

function fixture(change?: (doc: any) => void): string {
  const doc = structuredClone(spec);
  change?.(doc);
  const file = join(dir, `spec-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, stringify(doc));
  return file;
}

async function check(oldFile: string, newFile: string): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run(join(root, 'node_modules/.bin/tsx'), ['scripts/check-breaking.ts', oldFile, newFile], { cwd: root });
    return { code: 0, out: stdout };
  } catch (err: any) {
    return { code: err.code, out: `${err.stdout}${err.stderr}` };
  }
}

describe('check:breaking', () => {
  it('passes for the same contract and for additive changes', async () => {
    const same = await check(fixture(), fixture());
    expect(same).toMatchObject({ code: 0 });
    const additive = await check(fixture(), fixture((d) => {
      d.paths['/api/posts'].get.parameters.push({ name: 'q', in: 'query', required: false, schema: { type: 'string' } });
      d.paths['/api/posts'].get['x-auth-modes'].push('internal');
    }));
    expect(additive.code).toBe(0);
  }, 60_000);

  it.each([
    ['a removed operation', (d: any) => delete d.paths['/api/posts/{postId}'].delete, 'deletePost (DELETE /api/posts/{postId}): operation removed'],
    ['a new required query parameter', (d: any) => d.paths['/api/posts'].get.parameters.push({ name: 'owner', in: 'query', required: true, schema: { type: 'string' } }), 'new required query parameter owner'],
    ['a new required body field', (d: any) => d.components.schemas.CreatePostRequest.required.push('body'), 'createPost (POST /api/posts): new required body field body'],
    ['narrowed auth modes', (d: any) => (d.paths['/api/posts'].get['x-auth-modes'] = ['session', 'jwt']), 'listPosts (GET /api/posts): no longer accepts auth mode pat'],
    ['an added required scope', (d: any) => d.paths['/api/posts'].get['x-scopes'].push('billing:read'), 'listPosts (GET /api/posts): now requires scope billing:read'],
    ['a removed response field', (d: any) => delete d.components.schemas.Post.properties.body, 'response field body removed'],
  ])('fails on %s, naming it', async (_name, change, finding) => {
    const result = await check(fixture(), fixture(change));
    expect(result.code).toBe(1);
    expect(result.out).toContain(finding);
  }, 60_000);
});
