import Ajv2020, { ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

const SCHEMA_BASE = 'https://getpaidx.test/schemas/';

/** A copy of a schema whose `#/components/schemas/X` references name the separately added schema X. */
function rebased(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rebased);
  if (!node || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    out[key] = key === '$ref' && typeof value === 'string' ? value.replace('#/components/schemas/', SCHEMA_BASE) : rebased(value);
  }
  return out;
}

/**
 * A validator for schemas of the bundled spec: Ajv (JSON Schema 2020-12) with strict, full-mode formats,
 * independent of express-openapi-validator (which validates requests). Each component schema is added on
 * its own, so a compile walks only what it uses: express-openapi-validator's response stage put the
 * whole document into every schema it compiled (~100 ms each, for every status of every route).
 */
export function specValidator(document: Record<string, any>) {
  const ajv = new Ajv2020({ strict: false, allErrors: false, validateFormats: true });
  addFormats(ajv, { mode: 'full' });
  for (const [name, schema] of Object.entries(document.components?.schemas ?? {})) ajv.addSchema(rebased(schema) as object, `${SCHEMA_BASE}${name}`);
  const cache = new Map<unknown, ValidateFunction>();
  return (schema: object, value: unknown): string | undefined => {
    if (!cache.has(schema)) cache.set(schema, ajv.compile(rebased(schema) as object));
    const validate = cache.get(schema)!;
    if (validate(value)) return undefined;
    const first = validate.errors?.[0];
    return `${first?.instancePath || '/'} ${first?.message}`;
  };
}

/** Checks outbound webhook bodies against the spec's `webhooks:` entries. */
export function webhookPayloadChecker(document: Record<string, any>) {
  const validate = specValidator(document);
  return (payload: { type?: string }): string | undefined => {
    const entry = document.webhooks?.[payload.type ?? '']?.post;
    if (!entry) return `no webhooks entry in the contract for event type "${payload.type}"`;
    const problem = validate(entry.requestBody.content['application/json'].schema, payload);
    return problem ? `${payload.type}: ${problem}` : undefined;
  };
}
