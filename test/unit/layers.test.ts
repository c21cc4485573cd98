/**
 * The layers of src/ (DESIGN §5): each may import only from layers below it (or its own), so nothing
 * runs back up. A new folder must be placed here before it can import anything.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const SRC = resolve(__dirname, '../../src');

/** Lowest first. Files at the top of src/ (app, server, context) and cli/ sit above everything. */
const LAYERS: string[][] = [
  ['core'],
  ['contract'],
  ['db'],
  ['auth', 'webhooks', 'billing', 'mail'],
  ['catalog'],
  ['services', 'mcp'],
  ['jobs'],
  ['http'],
  ['handlers'],
  ['web'],
  ['(root)', 'cli', 'types'],
];
const rank = new Map(LAYERS.flatMap((names, i) => names.map((name) => [name, i] as const)));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });
}

const layerOf = (file: string) => {
  const parts = relative(SRC, file).split('/');
  return parts.length === 1 ? '(root)' : parts[0]!;
};

it('no import runs back up a layer', () => {
  const upward: string[] = [];
  for (const file of files(SRC)) {
    const from = layerOf(file);
    expect(rank.has(from) ? from : `unplaced folder src/${from}`).toBe(from);
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(/(?:from|import\()\s*'(\.{1,2}\/[^']+)'/g)) {
      const target = resolve(dirname(file), spec!);
      if (!target.startsWith(SRC)) continue; // generated/, package.json
      const to = layerOf(`${target}.ts`);
      if (rank.get(to)! > rank.get(from)!) upward.push(`${relative(SRC, file)} (${from}) imports ${spec} (${to})`);
    }
  }
  expect(upward).toEqual([]);
});
