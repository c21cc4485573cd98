import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { resolve } from 'node:path';

/** The bundled contract (`npm run bundle`), which the app, the tools and the tests read. */
export const SPEC_PATH = resolve(__dirname, '../../generated/openapi.yaml');

/**
 * The operations as the document lists them, read here without src/contract, so a coverage test
 * compares what the code loaded with what the document says, not the code with itself.
 */
export function operationsInDocument(document: Record<string, any>): Array<{ operationId: string; method: string; path: string; modes: string[] }> {
  const out = [];
  for (const [path, item] of Object.entries<Record<string, any>>(document.paths)) {
    for (const method of ['get', 'put', 'post', 'patch', 'delete', 'head', 'options', 'trace']) {
      const op = item[method];
      if (op) out.push({ operationId: op.operationId as string, method: method.toUpperCase(), path, modes: op['x-auth-modes'] as string[] });
    }
  }
  return out;
}

/** The bundled contract as parsed YAML. */
export function contractDocument(): Record<string, any> {
  return parse(readFileSync(SPEC_PATH, 'utf8'));
}
