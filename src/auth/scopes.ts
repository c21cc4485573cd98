import type { Contract } from '../contract/spec';

/** Scopes a role grants; an unknown role (say, removed from the spec) grants nothing. */
export function roleScopes(contract: Contract, role: string | null | undefined): string[] {
  if (!role) return [];
  return [...(contract.roles.get(role)?.scopes ?? [])];
}

/** What a token was granted: its explicit scopes plus those of its role. */
export function grantOf(contract: Contract, scopes: readonly string[], role: string | null): string[] {
  return union(scopes, roleScopes(contract, role));
}

/**
 * What a token may do at this moment: its grant ∩ its creator's current role, so a demotion shrinks
 * every token (and every workspace acting with one) at once.
 */
export function effectiveScopes(contract: Contract, scopes: readonly string[], tokenRole: string | null, userRole: string): string[] {
  return intersect(grantOf(contract, scopes, tokenRole), roleScopes(contract, userRole));
}

export function union(a: readonly string[], b: readonly string[]): string[] {
  return sortScopes([...new Set([...a, ...b])]);
}

export function intersect(a: readonly string[], b: readonly string[]): string[] {
  const inB = new Set(b);
  return sortScopes(a.filter((s) => inB.has(s)));
}

export function difference(a: readonly string[], b: readonly string[]): string[] {
  const inB = new Set(b);
  return sortScopes(a.filter((s) => !inB.has(s)));
}

function sortScopes(scopes: string[]): string[] {
  return [...new Set(scopes)].sort();
}

/**
 * The roles that cover a set of scopes, smallest first; used to tell a caller which role would do.
 */
export function rolesCovering(contract: Contract, scopes: readonly string[]): string[] {
  return [...contract.roles.values()]
    .filter((role) => difference(scopes, role.scopes).length === 0)
    .sort((a, b) => a.scopes.length - b.scopes.length)
    .map((role) => role.name);
}
