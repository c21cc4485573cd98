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
    ['a new required body field', (d: any) => d.components.schemas.CreatePostRequest.required.push('body'), 'createPost: request body: new required field body'],
    ['narrowed auth modes', (d: any) => (d.paths['/api/posts'].get['x-auth-modes'] = ['session', 'jwt']), 'listPosts (GET /api/posts): no longer accepts auth mode pat'],
    ['an added required scope', (d: any) => d.paths['/api/posts'].get['x-scopes'].push('billing:read'), 'listPosts (GET /api/posts): now requires scope billing:read'],
    ['a removed response field', (d: any) => delete d.components.schemas.Post.properties.body, 'getPost: response: field body removed'],
    ['a nested field removed', (d: any) => delete d.components.schemas.Pricing.properties.amount, 'getPost: response pricing: field amount removed'],
    ['a nested field refused in requests', (d: any) => delete d.components.schemas.Pricing.properties.amount, 'createPost: request body pricing: field amount removed (now refused)'],
    ['a field inside list items removed', (d: any) => delete d.components.schemas.Post.properties.title, 'listPosts: response data[]: field title removed'],
    ['a request type narrowed', (d: any) => (d.components.schemas.PostInput.properties.title.type = 'integer'), 'createPost: request body title: type narrowed from string to integer'],
    ['a response type widened to null', (d: any) => (d.components.schemas.Post.properties.title.type = ['string', 'null']), 'getPost: response title: type changed from string to string|null'],
    ['an enum value no longer accepted', (d: any) => (d.components.schemas.PostStatus.enum = ['draft']), 'createPost: request body status: no longer accepts "published"'],
    ['a new enum value in answers', (d: any) => d.components.schemas.PostStatus.enum.push('archived'), 'getPost: response status: may now be "archived"'],
    ['a format change', (d: any) => (d.components.schemas.Timestamp.format = 'date'), 'getPost: response created_at: format changed from date-time to date'],
    ['a lowered maximum', (d: any) => (d.components.schemas.Pricing.properties.amount.maximum = 1000), 'createPost: request body pricing.amount: maximum lowered from 100000000 to 1000'],
    ['a shortened maxLength', (d: any) => (d.components.schemas.PostInput.properties.title.maxLength = 100), 'createPost: request body title: maxLength lowered from 200 to 100'],
    ['a narrowed query parameter', (d: any) => (d.components.parameters.Limit.schema.maximum = 50), 'listPosts: query parameter limit: maximum lowered from 100 to 50'],
    ['a field that may now be absent', (d: any) => (d.components.schemas.Post.required = d.components.schemas.Post.required.filter((f: string) => f !== 'title')), 'getPost: response: field title may now be absent'],
    ['a removed response header', (d: any) => delete d.paths['/api/posts/{postId}'].get.responses['200'].headers['RateLimit-Policy'], 'getPost: response header ratelimit-policy removed'],
    ['a webhook payload field removed', (d: any) => delete d.components.schemas.PostEventData.properties.live, 'webhook post.created: payload data: field live removed'],
  ])('fails on %s, naming it', async (_name, change, finding) => {
    const result = await check(fixture(), fixture(change));
    expect(result.out).toContain(finding);
    expect(result.code).toBe(1);
  }, 60_000);

  it('lets a breaking change through when info.version announces it (a new minor while 0.x, else a new major)', async () => {
    const removal = (version: string) => (d: any) => {
      delete d.components.schemas.Post.properties.body;
      d.info.version = version;
    };
    const base = fixture((d) => (d.info.version = '0.4.2'));
    expect(await check(base, fixture(removal('0.4.3')))).toMatchObject({ code: 1 });
    const bumped = await check(base, fixture(removal('0.5.0')));
    expect(bumped.code).toBe(0);
    expect(bumped.out).toContain('Allowed: info.version 0.4.2 → 0.5.0');
    const major = fixture((d) => (d.info.version = '2.3.0'));
    expect(await check(major, fixture(removal('2.9.0')))).toMatchObject({ code: 1 });
    expect(await check(major, fixture(removal('3.0.0')))).toMatchObject({ code: 0 });
  }, 60_000);

  it('compares with the last released contract by default (contract/released/, as CI runs it)', async () => {
    const result = await check('contract/released/openapi.yaml', 'generated/openapi.yaml');
    expect(result.out).toContain('contract/released/openapi.yaml');
    expect(result.code).toBe(0);
  }, 60_000);
});
