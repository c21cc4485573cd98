/**
 * An agent's first steps over MCP with the official SDK client: connect with a PAT, list the tools this
 * token can call, call one, and show what a refusal says.
 *
 *   GPX_TOKEN=gpx_pat_… [GPX_BASE_URL=http://localhost:3000] npx tsx examples/agent-tools.ts
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

async function main(): Promise<number> {
  const token = process.env.GPX_TOKEN;
  if (!token) {
    console.error('Set GPX_TOKEN to a personal access token (gpx_pat_…).');
    return 2;
  }
  const base = process.env.GPX_BASE_URL ?? 'http://localhost:3000';
  const transport = new StreamableHTTPClientTransport(new URL('/mcp', base), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  const client = new Client({ name: 'getpaidx-example-agent', version: '1.0.0' });
  await client.connect(transport);
  try {
    const { tools } = await client.listTools();
    console.log(`This token can use ${tools.length} tools:`);
    for (const tool of tools) console.log(`  ${tool.name.padEnd(28)} ${tool.annotations?.readOnlyHint ? 'read-only' : 'writes   '}  ${tool.title ?? ''}`);

    if (!tools.some((tool) => tool.name === 'listPosts')) {
      console.error('This token cannot call listPosts: it needs posts:read.');
      return 1;
    }
    const posts = await client.callTool({ name: 'listPosts', arguments: { limit: 5 } });
    const page = posts.structuredContent as { data: Array<{ title: string }> } | undefined;
    console.log(`listPosts: ${page?.data.length ?? 0} post(s)${page?.data[0] ? `; newest: ${page.data[0].title}` : ''}`);

    // A tool outside the grant is not listed; calling it anyway is refused with what is missing.
    const refused = await client.callTool({ name: 'getBalance', arguments: {} });
    if (refused.isError) console.log(`getBalance refused: ${(refused.content as Array<{ text: string }>)[0]!.text.split('\n').at(-1)}`);
    return 0;
  } finally {
    await client.close();
  }
}

main().then((code) => process.exit(code), (err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
