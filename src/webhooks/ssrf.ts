import { lookup as dnsLookup, LookupAddress, LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Only ordinary public unicast addresses may receive webhooks: loopback, private, link-local (cloud
 * metadata at 169.254.169.254), carrier-grade NAT, multicast, reserved, unspecified, and IPv6 forms
 * that embed IPv4 (mapped, 6to4, NAT64, Teredo) are all refused. ipaddr.js classifies the ranges.
 */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  const parsed = ipaddr.process(address); // ::ffff:10.0.0.1 → 10.0.0.1
  return parsed.range() === 'unicast';
}

/**
 * The one reason a caller is given for a refused address. What the host resolved to stays in the
 * server's log (`detail`): telling the caller would map internal names to internal addresses for it.
 */
export const NOT_PUBLIC = 'The host is not a public address; webhooks go to public addresses only.';

export class BlockedAddressError extends Error {
  constructor(readonly host: string, readonly address: string) {
    super(NOT_PUBLIC);
    this.name = 'BlockedAddressError';
  }
  /** For the server's log only. */
  get detail(): string {
    return `${this.host} resolved to ${this.address}`;
  }
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for http(s).request that refuses private addresses at connect time: the address checked
 * is the address connected to, so a name that resolved to a public address when the endpoint was
 * registered and to 127.0.0.1 now (DNS rebinding) is still refused.
 */
export function guardedLookup(allowPrivate: boolean) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const list = addresses as LookupAddress[];
      const blocked = allowPrivate ? undefined : list.find((a) => !isPublicAddress(a.address));
      if (blocked) return callback(Object.assign(new BlockedAddressError(hostname, blocked.address), { code: 'EBLOCKED' }), []);
      if (options.all) return callback(null, list);
      const first = list[0];
      if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
      callback(null, first.address, first.family);
    });
  };
}

/** Resolves a host to every address it has now (an IP literal is its own address). */
export async function addressesOf(host: string): Promise<string[]> {
  const bare = host.replace(/^\[|\]$/g, '');
  if (isIP(bare)) return [bare];
  return new Promise((resolve, reject) => {
    dnsLookup(bare, { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses.map((a) => a.address))));
  });
}
