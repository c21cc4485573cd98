import { parseList, type Item } from 'structured-headers';

/** One list member: a policy name with its parameters (`q`, `w` in a policy; `r`, `t` in the state). */
export interface Quota {
  name: string;
  q?: number;
  w?: number;
  r?: number;
  t?: number;
}

/**
 * The `RateLimit` and `RateLimit-Policy` fields of an answer, read with an independent Structured Field
 * parser (`structured-headers`, RFC 9651), so a malformed field fails the test however our code wrote it.
 */
export function rateLimitOf(headers: Record<string, string | string[] | undefined>): { policy: Quota[]; state: Quota } {
  const list = (name: string) => {
    const raw = headers[name];
    if (typeof raw !== 'string') throw new Error(`no ${name} header`);
    return (parseList(raw) as Item[]).map(([name, params]): Quota => ({ name: String(name), ...Object.fromEntries(params) }));
  };
  const [state, ...more] = list('ratelimit');
  if (!state || more.length > 0) throw new Error(`RateLimit should describe one quota: ${headers.ratelimit}`);
  return { policy: list('ratelimit-policy'), state };
}
