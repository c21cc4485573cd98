/**
 * What a script or agent does first: read the catalog with its PAT, find what it may call, call it.
 * Typed by the generated types, so it cannot drift from openapi.yaml.
 *
 *   GPX_TOKEN=gpx_pat_… [GPX_BASE_URL=http://localhost:3000] npx tsx examples/read-catalog.ts
 */
import createClient from 'openapi-fetch';
import type { paths } from '../generated/openapi';

async function main(): Promise<number> {
  const token = process.env.GPX_TOKEN;
  if (!token) {
    console.error('Set GPX_TOKEN to a personal access token (gpx_pat_…).');
    return 2;
  }
  const client = createClient<paths>({
    baseUrl: process.env.GPX_BASE_URL ?? 'http://localhost:3000',
    headers: { Authorization: `Bearer ${token}` },
  });

  const { data, error } = await client.GET('/api/programmatic/catalog', { params: { query: { callable: true } } });
  if (error || !data || !('operations' in data)) {
    console.error('Could not read the catalog:', error?.error.message ?? 'unexpected answer');
    return 1;
  }
  console.log(`This token (${data.caller?.scopes.join(', ')}) can call ${data.operations.length} operations:`);
  for (const op of data.operations) console.log(`  ${op.method.padEnd(6)} ${op.path}  (${op.operation_id})`);

  // Call a post operation the catalog says is callable.
  const listPosts = data.operations.find((op) => op.operation_id === 'listPosts');
  if (!listPosts) {
    console.error('The catalog says this token cannot list posts: it needs posts:read.');
    return 1;
  }
  const posts = await client.GET('/api/posts', { params: { query: { limit: 5 } } });
  if (posts.error) {
    console.error(`listPosts failed: ${posts.error.error.code}`);
    return 1;
  }
  console.log(`listPosts: ${posts.data.meta.pagination.total} post(s); newest: ${posts.data.data[0]?.title ?? '(none)'}`);
  return 0;
}

main().then((code) => process.exit(code));
