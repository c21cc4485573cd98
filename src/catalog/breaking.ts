import type { CatalogOperation } from './catalog';

/**
 * Breaking changes between two versions of the API, judged on their catalog projections: what a
 * script written against the old one could rely on and the new one takes away.
 */
export function breakingChanges(before: readonly CatalogOperation[], after: readonly CatalogOperation[]): string[] {
  const findings: string[] = [];
  const now = new Map(after.map((op) => [op.operation_id, op]));
  for (const old of before) {
    const op = now.get(old.operation_id);
    const name = `${old.operation_id} (${old.method} ${old.path})`;
    if (!op) {
      findings.push(`${name}: operation removed`);
      continue;
    }
    if (op.method !== old.method || op.path !== old.path) findings.push(`${name}: moved to ${op.method} ${op.path}`);

    const narrowed = old.auth_modes.filter((m) => !op.auth_modes.includes(m));
    if (narrowed.length > 0) findings.push(`${name}: no longer accepts auth mode ${narrowed.join(', ')}`);

    const addedScopes = op.required_scopes.filter((s) => !old.required_scopes.includes(s));
    if (addedScopes.length > 0) findings.push(`${name}: now requires scope ${addedScopes.join(', ')}`);
    if (op.requires_two_factor && !old.requires_two_factor) findings.push(`${name}: now requires a 2FA-verified sign-in`);

    for (const kind of ['path_params', 'query_params'] as const) {
      const had = new Map(old.request[kind].map((p) => [p.name, p]));
      for (const p of op.request[kind]) {
        if (p.required && !had.get(p.name)?.required) findings.push(`${name}: new required ${kind === 'path_params' ? 'path' : 'query'} parameter ${p.name}`);
      }
    }
    // Fields of bodies, nested or not, and of parameters are compared schema by schema (schema-breaking.ts).
    if (op.request.body && !old.request.body) findings.push(`${name}: now takes a request body`);
    if (op.response.status !== old.response.status) findings.push(`${name}: success status changed from ${old.response.status} to ${op.response.status}`);
  }
  return findings;
}
