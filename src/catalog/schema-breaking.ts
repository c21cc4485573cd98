/**
 * Breaking changes inside schemas, between two bundled documents: what a client wrote against the old
 * contract and the new one no longer honours. The two sides are judged in opposite directions:
 * - what clients send (request bodies and parameters) must still be accepted, so a narrower type, a
 *   removed enum value, a new format or pattern, a lower maximum or a higher minimum, a field now
 *   refused or newly required, breaks;
 * - what clients read (success bodies and webhook payloads) must still be understood, so a removed or
 *   no longer guaranteed field, a wider type (null where there was none), a new enum value or a changed
 *   format, breaks.
 * Nested objects, array items, `allOf`, `oneOf`/`anyOf` variants and `additionalProperties` are walked.
 */
type Schema = Record<string, any>;
type Doc = Record<string, any>;
type Side = 'request' | 'response';

const UPPER = ['maximum', 'exclusiveMaximum', 'maxLength', 'maxItems', 'maxProperties'] as const;
const LOWER = ['minimum', 'exclusiveMinimum', 'minLength', 'minItems', 'minProperties'] as const;

function pointer(doc: Doc, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  return ref.slice(2).split('/').reduce<any>((node, key) => node?.[key.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
}

/** A schema with its $ref chain followed and its allOf parts merged into one object schema. */
function resolved(doc: Doc, node: unknown, depth = 0): Schema {
  let schema = node as Schema | undefined;
  for (let hops = 0; schema && typeof schema.$ref === 'string' && hops < 20; hops += 1) schema = pointer(doc, schema.$ref) as Schema;
  if (!schema || typeof schema !== 'object') return {};
  if (!Array.isArray(schema.allOf) || depth > 10) return schema;
  const merged: Schema = { ...schema, allOf: undefined, properties: { ...(schema.properties ?? {}) }, required: [...(schema.required ?? [])] };
  for (const part of schema.allOf.map((p: unknown) => resolved(doc, p, depth + 1))) {
    Object.assign(merged.properties, part.properties ?? {});
    merged.required.push(...(part.required ?? []));
    for (const key of ['type', 'additionalProperties', 'unevaluatedProperties'] as const) if (part[key] !== undefined && merged[key] === undefined) merged[key] = part[key];
  }
  return merged;
}

function typesOf(s: Schema): Set<string> | undefined {
  if (s.type === undefined) return undefined;
  const types = new Set<string>(Array.isArray(s.type) ? s.type : [s.type]);
  if (s.nullable === true) types.add('null');
  return types;
}

const accepts = (types: Set<string>, type: string) => types.has(type) || (type === 'integer' && types.has('number'));
const show = (types: Set<string> | undefined) => (types ? [...types].join('|') : 'any');
const closed = (s: Schema) => s.additionalProperties === false || s.unevaluatedProperties === false;

/** The name a variant goes by: the schema it refers to, else its position. */
function variantKeys(list: unknown[]): string[] {
  return list.map((v, i) => (v && typeof (v as Schema).$ref === 'string' ? String((v as Schema).$ref).split('/').pop()! : `#${i}`));
}

interface Walk {
  before: Doc;
  after: Doc;
  side: Side;
  out: string[];
  seen: Set<string>;
}

function compare(w: Walk, oldNode: unknown, newNode: unknown, at: string, depth: number): void {
  const key = `${(oldNode as Schema)?.$ref ?? ''}|${(newNode as Schema)?.$ref ?? ''}|${w.side}|${at.split('.').length > 8 ? '' : at}`;
  if (depth > 24 || w.seen.has(key)) return;
  w.seen.add(key);
  const o = resolved(w.before, oldNode);
  const n = resolved(w.after, newNode);
  const report = (what: string) => w.out.push(`${at ? ` ${at}` : ''}: ${what}`);

  const ot = typesOf(o);
  const nt = typesOf(n);
  if (w.side === 'request') {
    if (nt && (!ot || [...ot].some((t) => !accepts(nt, t)))) report(`type narrowed from ${show(ot)} to ${show(nt)}`);
    if (Array.isArray(n.enum)) {
      const removed = Array.isArray(o.enum) ? o.enum.filter((v: unknown) => !n.enum.includes(v)) : null;
      if (removed === null) report(`now limited to ${JSON.stringify(n.enum)}`);
      else if (removed.length > 0) report(`no longer accepts ${removed.map((v: unknown) => JSON.stringify(v)).join(', ')}`);
    }
    if (n.format !== undefined && n.format !== o.format) report(`format ${o.format ? `changed from ${o.format} to` : 'now'} ${n.format}`);
    if (n.pattern !== undefined && n.pattern !== o.pattern) report(`pattern ${o.pattern ? 'changed' : 'added'}: ${n.pattern}`);
    for (const limit of UPPER) {
      if (typeof n[limit] === 'number' && (typeof o[limit] !== 'number' || n[limit] < o[limit])) report(`${limit} lowered from ${o[limit] ?? 'none'} to ${n[limit]}`);
    }
    for (const limit of LOWER) {
      if (typeof n[limit] === 'number' && n[limit] > (typeof o[limit] === 'number' ? o[limit] : limit.startsWith('min') && limit !== 'minimum' ? 0 : -Infinity)) {
        report(`${limit} raised from ${o[limit] ?? 'none'} to ${n[limit]}`);
      }
    }
    const wasRequired = new Set<string>(o.required ?? []);
    for (const name of n.required ?? []) if (!wasRequired.has(name)) report(`new required field ${name}`);
    for (const name of Object.keys(o.properties ?? {})) {
      if (!(name in (n.properties ?? {})) && closed(n)) report(`field ${name} removed (now refused)`);
    }
  } else {
    if (ot && (!nt || [...nt].some((t) => !ot.has(t) && !(t === 'integer' && ot.has('number'))))) report(`type changed from ${show(ot)} to ${show(nt)}`);
    if (Array.isArray(o.enum)) {
      const added = Array.isArray(n.enum) ? n.enum.filter((v: unknown) => !o.enum.includes(v)) : null;
      if (added === null) report('no longer limited to the values it had');
      else if (added.length > 0) report(`may now be ${added.map((v: unknown) => JSON.stringify(v)).join(', ')}`);
    }
    if (o.format !== undefined && n.format !== o.format) report(`format changed from ${o.format} to ${n.format ?? 'none'}`);
    const stillRequired = new Set<string>(n.required ?? []);
    for (const name of o.required ?? []) {
      if (!(name in (n.properties ?? {}))) continue;
      if (!stillRequired.has(name)) report(`field ${name} may now be absent`);
    }
    for (const name of Object.keys(o.properties ?? {})) {
      if (!(name in (n.properties ?? {}))) report(`field ${name} removed`);
    }
  }

  for (const [name, schema] of Object.entries<unknown>(o.properties ?? {})) {
    if (n.properties && name in n.properties) compare(w, schema, n.properties[name], at ? `${at}.${name}` : name, depth + 1);
  }
  if (o.items && n.items) compare(w, o.items, n.items, `${at}[]`, depth + 1);
  if (typeof o.additionalProperties === 'object' && typeof n.additionalProperties === 'object') compare(w, o.additionalProperties, n.additionalProperties, `${at}{}`, depth + 1);
  for (const combinator of ['oneOf', 'anyOf'] as const) {
    if (!Array.isArray(o[combinator]) || !Array.isArray(n[combinator])) continue;
    const oldKeys = variantKeys(o[combinator]);
    const newKeys = variantKeys(n[combinator]);
    oldKeys.forEach((name, i) => {
      const j = newKeys.indexOf(name);
      if (j < 0) {
        if (w.side === 'request') report(`variant ${name} of ${combinator} removed`);
        return;
      }
      compare(w, o[combinator][i], n[combinator][j], `${at}<${name}>`, depth + 1);
    });
    if (w.side === 'response') for (const name of newKeys.filter((k) => !oldKeys.includes(k))) report(`may now be variant ${name}`);
  }
}

const METHODS = ['get', 'put', 'post', 'patch', 'delete'] as const;

function operations(doc: Doc): Map<string, Schema> {
  const out = new Map<string, Schema>();
  for (const item of Object.values<Schema>(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = item[method];
      if (op?.operationId) out.set(op.operationId, { ...op, parameters: [...(item.parameters ?? []), ...(op.parameters ?? [])] });
    }
  }
  return out;
}

const jsonBody = (doc: Doc, holder: unknown): unknown => resolved(doc, holder).content?.['application/json']?.schema;

const successStatus = (op: Schema): string | undefined => Object.keys(op.responses ?? {}).sort().find((s) => /^2\d\d$/.test(s));

function successBody(doc: Doc, op: Schema): unknown {
  const status = successStatus(op);
  return status ? jsonBody(doc, op.responses[status]) : undefined;
}

/** The header names (lower-cased, as HTTP compares them) of an operation's success response. */
function successHeaders(doc: Doc, op: Schema): Set<string> {
  const status = successStatus(op);
  return new Set(status ? Object.keys(resolved(doc, op.responses[status]).headers ?? {}).map((h) => h.toLowerCase()) : []);
}

function parameters(doc: Doc, op: Schema): Map<string, Schema> {
  return new Map(op.parameters.map((p: unknown) => resolved(doc, p)).filter((p: Schema) => p.in === 'query' || p.in === 'path').map((p: Schema) => [`${p.in} parameter ${p.name}`, p]));
}

/** Every schema-level breaking change from `before` to `after`, one line each, named by operation. */
export function schemaBreakingChanges(before: Doc, after: Doc): string[] {
  const findings: string[] = [];
  const now = operations(after);
  for (const [id, old] of operations(before)) {
    const op = now.get(id);
    if (!op) continue; // the catalog comparison reports removed operations
    const run = (side: Side, label: string, oldSchema: unknown, newSchema: unknown) => {
      if (oldSchema === undefined || newSchema === undefined) return;
      const out: string[] = [];
      compare({ before, after, side, out, seen: new Set() }, oldSchema, newSchema, '', 0);
      findings.push(...out.map((line) => `${id}: ${label}${line}`));
    };
    run('request', 'request body', jsonBody(before, old.requestBody), jsonBody(after, op.requestBody));
    const newParams = parameters(after, op);
    for (const [name, param] of parameters(before, old)) {
      if (newParams.has(name)) run('request', name, param.schema, newParams.get(name)!.schema);
      else if (param.in === 'query') findings.push(`${id}: ${name} removed (now refused)`);
    }
    run('response', 'response', successBody(before, old), successBody(after, op));
    // A client may read a header the contract promised (a rate-limit field, a Link): removing it breaks it.
    const headersNow = successHeaders(after, op);
    for (const header of successHeaders(before, old)) if (!headersNow.has(header)) findings.push(`${id}: response header ${header} removed`);
  }
  const hooks = after.webhooks ?? {};
  for (const [name, item] of Object.entries<Schema>(before.webhooks ?? {})) {
    if (!hooks[name]) {
      findings.push(`webhook ${name}: removed`);
      continue;
    }
    const out: string[] = [];
    compare({ before, after, side: 'response', out, seen: new Set() }, jsonBody(before, item.post?.requestBody), jsonBody(after, hooks[name].post?.requestBody), '', 0);
    findings.push(...out.map((line) => `webhook ${name}: payload${line}`));
  }
  return findings;
}

/**
 * The part of a version that must grow for a breaking change: the major, or the minor while the major
 * is 0 (semver's 0.y rule).
 */
function breakingPart(version: string): [number, number] {
  const [major = 0, minor = 0] = String(version).split('.').map((p) => Number.parseInt(p, 10) || 0);
  return major > 0 ? [major, 0] : [0, minor];
}

/** Whether `after`'s info.version is a breaking-change bump over `before`'s. */
export function versionAllowsBreaking(before: string, after: string): boolean {
  const [a, b] = [breakingPart(before), breakingPart(after)];
  return b[0] > a[0] || (b[0] === a[0] && a[0] === 0 && b[1] > a[1]);
}
