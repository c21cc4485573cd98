import { resolve } from 'node:path';
import { difference, grantOf, intersect, roleScopes, rolesCovering, union } from '../../src/auth/scopes';
import { loadContract } from '../../src/contract/spec';

const contract = loadContract(resolve(__dirname, '../../generated/openapi.yaml'));

describe('scope algebra', () => {
  it('unions, intersects and subtracts as sets, sorted', () => {
    expect(union(['b', 'a'], ['a', 'c'])).toEqual(['a', 'b', 'c']);
    expect(intersect(['b', 'a', 'c'], ['c', 'a'])).toEqual(['a', 'c']);
    expect(difference(['a', 'b', 'c'], ['b'])).toEqual(['a', 'c']);
    expect(difference([], ['b'])).toEqual([]);
  });

  it('grants a token its explicit scopes plus its role', () => {
    expect(grantOf(contract, ['billing:read'], 'viewer')).toEqual(
      union(['billing:read'], roleScopes(contract, 'viewer')),
    );
    expect(grantOf(contract, [], null)).toEqual([]);
  });

  it('grants nothing for an unknown role', () => {
    expect(roleScopes(contract, 'emperor')).toEqual([]);
  });

  it('lists the roles covering a scope set, smallest first', () => {
    expect(rolesCovering(contract, ['posts:read'])[0]).toBe('viewer');
    expect(rolesCovering(contract, ['payouts:manage'])).toEqual(['billing_admin', 'owner']);
    expect(rolesCovering(contract, ['transfers:manage', 'posts:write'])).toEqual(['owner']);
  });

  it('registers the 17 scopes of the design, each in a group with a description', () => {
    expect(contract.scopes.size).toBe(17);
    for (const scope of contract.scopes.values()) {
      expect(scope.group).toMatch(/^(Content|Workspace|Billing|Account)$/);
      expect(scope.description.length).toBeGreaterThan(10);
    }
    expect(contract.roles.get('owner')!.scopes).toHaveLength(17);
  });
});
