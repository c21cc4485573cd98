import type { GetPromptResult, Prompt } from '@modelcontextprotocol/sdk/types.js';
import type { Catalog } from '../catalog/catalog';
import type { Contract } from '../contract/spec';

export const LEAST_PRIVILEGE_PROMPT: Prompt = {
  name: 'least-privilege-token',
  title: 'Least-privilege token for a task',
  description: 'Given a task in words, the PAT operations it likely needs and the smallest scope set that allows them.',
  arguments: [{ name: 'task', description: 'What the token is for, e.g. "export my posts every night".', required: true }],
};

const STOP = new Set(['the', 'and', 'for', 'with', 'from', 'into', 'that', 'this', 'every', 'each', 'all', 'my', 'our', 'your', 'a', 'an', 'to', 'of', 'in', 'on', 'by', 'it', 'them', 'then', 'get', 'api', 'use']);
/** A few everyday words that name an action differently from the contract's verbs. */
const SYNONYMS: Record<string, string[]> = {
  read: ['list', 'get'], fetch: ['list', 'get'], export: ['list', 'get'], show: ['list', 'get'], see: ['list', 'get'],
  write: ['create', 'update'], publish: ['create', 'update'], add: ['create'], make: ['create'], edit: ['update'],
  remove: ['delete'], pay: ['transfer'], payout: ['transfer', 'payouts'], money: ['balance', 'transfer'],
  earnings: ['balance'], run: ['runs', 'queue'], hook: ['webhook'], hooks: ['webhook'], token: ['tokens'],
};

function words(text: string): string[] {
  return text
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 1 && !STOP.has(w))
    .map((w) => (w.length > 3 && w.endsWith('s') && !w.endsWith('ss') ? w.slice(0, -1) : w));
}

/**
 * The `least-privilege-token` prompt: matches the task's words against each PAT operation's name,
 * summary, tags and scopes, keeps the best matches, and asks the catalog for their minimal scope set
 * (the same answer as getMinimalScopes). A heuristic: the message asks the model to check the list.
 */
export function leastPrivilegePrompt(contract: Contract, catalog: Catalog, task: string): GetPromptResult {
  const asked = new Set(words(task).flatMap((w) => [w, ...(SYNONYMS[w] ?? []).flatMap(words)]));
  const scored = [...contract.operations.values()]
    .filter((op) => op.modes.has('pat'))
    .map((op) => {
      // A word in the operation's name counts twice a word of its summary, tags or scopes.
      const name = new Set(words(op.operationId));
      const rest = new Set(words([op.summary, ...op.tags, ...op.scopes].join(' ')));
      const score = [...asked].reduce((sum, w) => sum + (name.has(w) ? 2 : rest.has(w) ? 1 : 0), 0);
      return { op, score };
    })
    .filter((s) => s.score > 0)
    .sort((a, b) => b.score - a.score || a.op.operationId.localeCompare(b.op.operationId));
  const best = scored[0]?.score ?? 0;
  const chosen = scored.filter((s) => s.score === best).slice(0, 8).map((s) => s.op);
  const minimal = catalog.minimalScopes(chosen.map((op) => op.operationId)).result!;
  const lines = [
    `Task: ${task}`,
    '',
    chosen.length > 0 ? 'Operations this task likely needs (check them against the catalog, gpx://catalog):' : 'No PAT operation matched the task\'s words; read the catalog (gpx://catalog) and choose the operations yourself.',
    ...chosen.map((op) => `- ${op.operationId}: ${op.method} ${op.path} (${op.scopes.join(', ') || 'no scope'}): ${op.summary}`),
    '',
    `Minimal scopes: ${minimal.scopes.join(', ') || 'none'}${minimal.role ? ` (the smallest role holding them: ${minimal.role})` : ''}.`,
    'Create the token with exactly these scopes (createToken, {"name": "…", "scopes": [...]}), and confirm the set with getMinimalScopes once the list of operations is final.',
  ];
  return {
    description: `Least-privilege scopes for: ${task}`,
    messages: [{ role: 'user', content: { type: 'text', text: lines.join('\n') } }],
  };
}
