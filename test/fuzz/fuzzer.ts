import { Agent, request as httpRequest } from 'node:http';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import type { Contract, OperationInfo } from '../../src/contract/spec';
import { createOracle } from './oracle';
import { arbitraryFor, resolve } from './schema-arbitrary';
import { CREDENTIAL_KINDS, CredentialKind, FuzzTarget } from './target';

/** One generated request, as data: printed as a reproduction when its answer breaks the contract. */
export interface FuzzRequest {
  operationId: string;
  method: string;
  path: string;
  query: string;
  credential: CredentialKind;
  headers: Record<string, string>;
  /** A text body, or base64 for bytes (compressed bodies). */
  body?: { text?: string; base64?: string };
  /** What was done to the request, for the report. */
  shape: string;
  pathMangled: boolean;
}

export interface Finding {
  operationId: string;
  problem: string;
  status: number;
  request: FuzzRequest;
  answer: string;
}

export interface FuzzReport {
  seed: number;
  sent: number;
  byStatus: Record<string, number>;
  /** How many answers were 401 per credential kind: a valid kind with many is a world used up too fast. */
  unauthorizedBy: Record<string, number>;
  findings: Finding[];
  milliseconds: number;
}

type Schema = Record<string, any>;
/** Operations that, when they succeed, end the credentials the fuzzer holds. */
const ENDS_CREDENTIALS = new Set(['logOut', 'deleteSession', 'changePassword', 'updateUser']);
const HUGE = 'x'.repeat(100_000);
const BIG_NUMBER_MARK = '__FUZZ_BIG_NUMBER__';
const WRONG_VALUES = [123, -1, 1.5, 'text', true, false, null, [], {}, [1, 'a'], { a: 1 }, '', 0, '2027-10-09T23:59:60Z', '2027-10-09T10:00:00+25:00', '0000-00-00T00:00:00Z', 'https://evil.example/x'];
const ODD_IDS = ['%zz', '..', '%2e%2e', '%2F', 'x'.repeat(3000), '%00', '%C3%BC', '%F0%9F%98%80', '%E0%A4%A', '%20', "'", '%27%20OR%201%3D1', 'null', '-1', '1e400'];
const ODD_QUERIES = ['unknown=1', 'page=0', 'page=-1', 'page=1e400', 'limit=1000', 'limit=abc', 'page[a]=1', 'page=1&page=2', '%zz=1', 'q=%zz', `q=${'y'.repeat(5000)}`, 'a=1&a=2&a=3', 'page='];

/** Each mutation of a valid JSON body, with how often it is tried. */
const MUTATIONS: Array<[string, number]> = [
  ['valid', 40], ['wrong_type_field', 8], ['wrong_type_root', 3], ['missing_required', 6], ['extra_field', 5], ['huge_string', 3],
  ['nul_in_string', 2], ['lone_surrogate', 2], ['big_number', 3], ['malformed_json', 4], ['wrong_content_type', 4], ['no_content_type', 2],
  ['bad_encoding', 4], ['unknown_encoding', 2], ['gzip_valid', 2], ['empty_body', 2],
];

const pick = <T>(items: readonly T[], index: number): T => items[index % items.length]!;

function mutateBody(valid: unknown, mutation: string, index: number, replacement: unknown): { text?: string; base64?: string; headers: Record<string, string> } {
  const json = { 'Content-Type': 'application/json' };
  const asObject = valid && typeof valid === 'object' && !Array.isArray(valid) ? { ...(valid as Record<string, unknown>) } : undefined;
  const keys = asObject ? Object.keys(asObject) : [];
  const setField = (value: unknown) => {
    if (!asObject || keys.length === 0) return JSON.stringify(value);
    asObject[pick(keys, index)] = value;
    return JSON.stringify(asObject);
  };
  switch (mutation) {
    case 'wrong_type_field': return { text: setField(replacement), headers: json };
    case 'wrong_type_root': return { text: JSON.stringify(replacement), headers: json };
    case 'missing_required':
      if (asObject && keys.length) delete asObject[pick(keys, index)];
      return { text: JSON.stringify(asObject ?? {}), headers: json };
    case 'extra_field': return { text: JSON.stringify({ ...(asObject ?? {}), fuzz_extra: replacement }), headers: json };
    case 'huge_string': return { text: setField(HUGE), headers: json };
    case 'nul_in_string': return { text: setField('a\u0000b'), headers: json };
    case 'lone_surrogate': return { text: setField('a\ud800b'), headers: json };
    case 'big_number': return { text: setField(BIG_NUMBER_MARK).replace(`"${BIG_NUMBER_MARK}"`, '1e400'), headers: json };
    case 'malformed_json': return { text: pick(['{"a":', '{', '[1,2', '{"a":1}}', 'nul', '"unterminated', '{"a":1,}', '\u0000'], index), headers: json };
    case 'wrong_content_type': return { text: JSON.stringify(valid), headers: { 'Content-Type': pick(['text/plain', 'application/xml', 'multipart/form-data; boundary=x', 'application/json; charset=utf-7', 'application/x-www-form-urlencoded', 'text/html'], index) } };
    case 'no_content_type': return { text: JSON.stringify(valid), headers: {} };
    case 'bad_encoding': return { base64: Buffer.from(`not ${pick(['gzip', 'br', 'deflate'], index)} at all`).toString('base64'), headers: { ...json, 'Content-Encoding': pick(['gzip', 'br', 'deflate'], index) } };
    case 'unknown_encoding': return { text: JSON.stringify(valid), headers: { ...json, 'Content-Encoding': pick(['compress', 'x-fuzz', 'gzip, br', 'identity, gzip'], index) } };
    case 'gzip_valid': return { base64: gzipSync(JSON.stringify(valid)).toString('base64'), headers: { ...json, 'Content-Encoding': 'gzip' } };
    case 'empty_body': return { text: '', headers: json };
    default: return { text: JSON.stringify(valid), headers: json };
  }
}

function parametersOf(document: Schema, op: OperationInfo, where: 'path' | 'query' | 'header'): Schema[] {
  return ((op.schema.parameters ?? []) as Schema[]).map((p) => resolve(document, p)!).filter((p) => p.in === where);
}

export function requestArbitraryForBench(contract: Contract, target: FuzzTarget) { return requestArbitrary(contract, target); }
function requestArbitrary(contract: Contract, target: FuzzTarget): fc.Arbitrary<FuzzRequest> {
  const document = contract.document;
  const ops = [...contract.operations.values()];
  // Valid credentials more often, so that most requests get past authentication to the code behind it.
  const weight: Partial<Record<CredentialKind, number>> = { pat_all: 8, jwt: 4, session: 5, admin_jwt: 2, pat_one: 2, none: 2 };
  const credentialArb = fc.oneof(...CREDENTIAL_KINDS.map((kind) => ({ weight: weight[kind] ?? 1, arbitrary: fc.constant(kind) })));
  const mutationArb = fc.oneof(...MUTATIONS.map(([name, weight]) => ({ weight, arbitrary: fc.constant(name) })));
  // Built once per operation: building arbitraries (regexes, nested records) costs far more than drawing from them.
  const perOperation = new Map(ops.map((op) => [op.operationId, forOperation(op)]));
  return fc.constantFrom(...ops).chain((op) => perOperation.get(op.operationId)!);

  function forOperation(op: OperationInfo): fc.Arbitrary<FuzzRequest> {
    const pathParams = parametersOf(document, op, 'path');
    const queryParams = parametersOf(document, op, 'query');
    const item = document.paths[op.path][op.method.toLowerCase()];
    const content = resolve(document, item.requestBody)?.content ?? {};
    const jsonSchema = content['application/json']?.schema;
    const rawTypes = Object.keys(content).filter((type) => type !== 'application/json');
    const pathArb = fc.tuple(...pathParams.map((p) => fc.oneof(
      { weight: 5, arbitrary: fc.constant({ fixture: p.name as string }) },
      { weight: 3, arbitrary: arbitraryFor(document, p.schema).map((v) => ({ value: encodeURIComponent(String(v)) })) },
      { weight: 2, arbitrary: fc.constantFrom(...ODD_IDS).map((raw) => ({ raw })) },
    )));
    const queryArb = fc.oneof(
      { weight: 6, arbitrary: fc.tuple(...queryParams.map((p) => fc.option(arbitraryFor(document, p.schema), { freq: 2 }))).map((values) =>
        values.map((v, i) => (v === null || v === undefined ? undefined : `${encodeURIComponent(queryParams[i]!.name)}=${encodeURIComponent(Array.isArray(v) ? v.join(',') : typeof v === 'object' ? JSON.stringify(v) : String(v))}`))
          .filter(Boolean).join('&')) },
      { weight: 1, arbitrary: fc.constantFrom(...ODD_QUERIES) },
    );
    const bodyArb = jsonSchema
      ? fc.oneof(
        { weight: rawTypes.length ? 3 : 1, arbitrary: fc.tuple(arbitraryFor(document, jsonSchema), mutationArb, fc.nat(), fc.constantFrom(...WRONG_VALUES))
          .map(([valid, mutation, index, replacement]) => ({ shape: mutation, ...mutateBody(valid, mutation, index, replacement) })) },
        ...(rawTypes.length ? [{ weight: 1, arbitrary: fc.tuple(fc.constantFrom(...rawTypes), fc.string({ maxLength: 64 })).map(([type, text]) => ({ shape: `raw ${type}`, text, headers: { 'Content-Type': type } as Record<string, string> })) }] : []),
      )
      : rawTypes.length
        ? fc.tuple(fc.constantFrom(...rawTypes), fc.string({ maxLength: 64 })).map(([type, text]) => ({ shape: `raw ${type}`, text, headers: { 'Content-Type': type } as Record<string, string> }))
        : fc.oneof(
          { weight: 19, arbitrary: fc.constant({ shape: 'no body', headers: {} as Record<string, string> }) },
          { weight: 1, arbitrary: fc.constantFrom('{"a":1}', 'garbage', '[]').map((text) => ({ shape: 'body on a bodiless operation', text, headers: { 'Content-Type': 'application/json' } as Record<string, string> })) },
        );
    const extrasArb = fc.record({
      idempotencyKey: fc.option(fc.constantFrom('fuzz-key-1', 'fuzz-key-2', 'k'.repeat(300)), { freq: 5 }),
      requestId: fc.option(fc.constantFrom('req_fuzz0123456789abcdef', 'bad id with spaces', 'r'.repeat(300)), { freq: 5 }),
      ifNoneMatch: op.method === 'GET' ? fc.option(fc.constantFrom('*', '"nope"', 'W/"x"'), { freq: 5 }) : fc.constant(null),
    });
    return fc.record({ credential: credentialArb, path: pathArb, query: queryArb, body: bodyArb, extras: extrasArb }).map(({ credential, path, query, body, extras }) => {
      let pathMangled = false;
      let i = 0;
      const url = op.path.replace(/\{(\w+)\}/g, () => {
        const choice = path[i++]!;
        if ('fixture' in choice) return encodeURIComponent(target.fixture(choice.fixture) ?? 'missing');
        if ('raw' in choice) {
          pathMangled = true;
          return choice.raw;
        }
        return choice.value;
      });
      const headers: Record<string, string> = { ...body.headers };
      if (extras.idempotencyKey) headers['Idempotency-Key'] = extras.idempotencyKey;
      if (extras.requestId) headers['X-Request-Id'] = extras.requestId;
      if (extras.ifNoneMatch) headers['If-None-Match'] = extras.ifNoneMatch;
      const { text, base64 } = body as { text?: string; base64?: string };
      return {
        operationId: op.operationId, method: op.method, path: url, query, credential, headers,
        body: text !== undefined || base64 !== undefined ? { text, base64 } : undefined, shape: body.shape, pathMangled,
      };
    });
  }
}

/** A reproduction to paste into a shell or a regression test. */
export function reproduction(f: Finding): string {
  const r = f.request;
  const headers = Object.entries(r.headers).map(([k, v]) => `-H '${k}: ${v.length > 80 ? `${v.slice(0, 80)}…` : v}'`).join(' ');
  const body = r.body?.base64 ? ` --data-binary @<(echo ${r.body.base64} | base64 -d)` : r.body?.text !== undefined ? ` --data-raw '${r.body.text.length > 200 ? `${r.body.text.slice(0, 200)}…` : r.body.text}'` : '';
  return `${f.operationId}: ${f.problem} (got ${f.status}; ${r.shape}; credential ${r.credential})\n  curl -X ${r.method} '$API${r.path}${r.query ? `?${r.query}` : ''}' ${headers}${body}\n  answer: ${f.answer.slice(0, 300)}`;
}

/**
 * Sends `requests` generated requests (seeded) to a running server, `concurrency` at a time, and
 * judges every answer. Findings are deduplicated by operation and problem.
 */
export async function fuzz(options: {
  baseUrl: string; contract: Contract; target: FuzzTarget; requests: number; seed: number; concurrency?: number;
  refreshEvery?: number; onProgress?: (sent: number) => void;
}): Promise<FuzzReport> {
  const { baseUrl, contract, target, seed } = options;
  const started = Date.now();
  const oracle = createOracle(contract.document, target.secrets);
  const arb = requestArbitrary(contract, target);
  const findings = new Map<string, Finding>();
  const byStatus: Record<string, number> = {};
  const unauthorizedBy: Record<string, number> = {};
  const batch = options.refreshEvery ?? 2000;
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency ?? 8 });
  let sent = 0;
  let stale = false;
  let refreshing: Promise<void> | undefined;
  await target.refresh();
  for (let round = 0; sent < options.requests; round++) {
    if (round > 0) await target.refresh();
    const size = Math.min(batch, options.requests - sent);
    const requests = fc.sample(arb, { seed: seed + round, numRuns: size });
    let next = 0;
    const worker = async () => {
      while (next < requests.length) {
        if (stale) {
          refreshing ??= target.renew().then(() => {
            stale = false;
            refreshing = undefined;
          });
          await refreshing;
          // Other workers may have taken the last requests of the round while this one waited.
          if (next >= requests.length) break;
        }
        const r = requests[next++]!;
        const op = contract.operations.get(r.operationId)!;
        const credential = target.credential(r.credential);
        const query = [r.query, credential.query].filter(Boolean).join('&');
        const body = r.body ? (r.body.base64 !== undefined ? Buffer.from(r.body.base64, 'base64') : Buffer.from(r.body.text ?? '')) : undefined;
        const answer = await send(agent, baseUrl, r.method, `${r.path}${query ? `?${query}` : ''}`, { ...credential.headers, ...r.headers }, body);
        byStatus[answer.status] = (byStatus[answer.status] ?? 0) + 1;
        if (answer.status === 401) unauthorizedBy[r.credential] = (unauthorizedBy[r.credential] ?? 0) + 1;
        // Signing out ends the credential for everything that follows: sign in again first.
        if (answer.status < 300 && ENDS_CREDENTIALS.has(r.operationId)) stale = true;
        for (const { problem } of oracle.judge(op, answer, { pathMangled: r.pathMangled })) {
          const key = `${r.operationId} ${problem.replace(/req_\w+/g, 'req_…')}`;
          if (!findings.has(key)) findings.set(key, { operationId: r.operationId, problem, status: answer.status, request: { ...r, headers: { ...credential.headers, ...r.headers }, query }, answer: answer.text });
        }
        sent += 1;
        if (sent % 1000 === 0) options.onProgress?.(sent);
      }
    };
    await Promise.all(Array.from({ length: options.concurrency ?? 8 }, worker));
  }
  agent.destroy();
  return { seed, sent, byStatus, unauthorizedBy, findings: [...findings.values()], milliseconds: Date.now() - started };
}

/**
 * node:http rather than fetch: fetch refuses a body on GET and rewrites some headers, and sending what a
 * hostile client sends is the point.
 */
function send(agent: Agent, baseUrl: string, method: string, path: string, headers: Record<string, string>, body?: Buffer, retried = false): Promise<{ status: number; headers: Headers; text: string }> {
  return new Promise((done) => {
    // The path goes out as generated: a URL object would resolve "%2e%2e" and "..", and the point is to
    // send what a hostile client sends.
    const { hostname, port } = new URL(baseUrl);
    const req = httpRequest({ hostname, port, path, method, agent, headers: { ...headers, ...(body ? { 'Content-Length': String(body.length) } : {}) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const seen = new Headers();
        for (const [name, value] of Object.entries(res.headers)) if (value !== undefined) seen.set(name, Array.isArray(value) ? value.join(', ') : value);
        done({ status: res.statusCode ?? 0, headers: seen, text: Buffer.concat(chunks).toString('utf8') });
      });
    });
    // A kept-alive socket the server closed after an answer that left a body unread: send again, as
    // browsers and HTTP clients do. The retry goes on a connection of its own without keep-alive: a
    // retry through the keep-alive pool was seen reset too (about 1 request in 7,000, since the rate
    // limits moved before authentication; the cause is not understood yet). A reset of this last
    // attempt is still a finding.
    req.on('error', (err) => (req.reusedSocket && !retried
      ? send(new Agent({ keepAlive: false }), baseUrl, method, path, headers, body, true).then(done)
      : done({ status: 599, headers: new Headers(), text: `the connection failed: ${err.message}` })));
    req.end(body);
  });
}

/** Findings grouped by what went wrong (across operations), each with one reproduction. */
export function summarise(findings: Finding[]): string[] {
  const groups = new Map<string, Finding[]>();
  for (const f of findings) {
    const key = f.problem.replace(new RegExp(`\\b${f.operationId}\\b`, 'g'), '{op}').replace(/req_\w+/g, 'req_…');
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  return [...groups.entries()].map(([problem, list]) =>
    `${problem} — ${list.length} operation(s): ${[...new Set(list.map((f) => f.operationId))].slice(0, 8).join(', ')}\n${reproduction(list[0]!)}`);
}
