import fc from 'fast-check';

type Schema = Record<string, any>;

/** Follows a local `#/…` reference in the document. */
export function resolve(document: Schema, node: Schema | undefined): Schema | undefined {
  let current = node;
  for (let hops = 0; current?.$ref && hops < 20; hops++) {
    current = String(current.$ref).replace(/^#\//, '').split('/')
      .reduce((at: any, key) => at?.[key.replace(/~1/g, '/').replace(/~0/g, '~')], document);
  }
  return current;
}

/** Merges `allOf` branches (the spec uses it for shared object fields) into one object schema. */
function mergeAllOf(document: Schema, schema: Schema): Schema {
  const merged: Schema = { type: 'object', properties: {}, required: [] as string[] };
  for (const part of schema.allOf) {
    const branch = resolve(document, part)!;
    const flat = branch.allOf ? mergeAllOf(document, branch) : branch;
    Object.assign(merged.properties, flat.properties ?? {});
    merged.required.push(...(flat.required ?? []));
  }
  Object.assign(merged.properties, schema.properties ?? {});
  merged.required.push(...(schema.required ?? []));
  return merged;
}

const ISO_RANGE = { min: new Date('2020-01-01T00:00:00Z'), max: new Date('2035-12-31T00:00:00Z'), noInvalidDate: true };

function stringArbitrary(schema: Schema): fc.Arbitrary<string> {
  const min = schema.minLength ?? 0;
  const max = Math.max(min, Math.min(schema.maxLength ?? 24, 48));
  switch (schema.format) {
    case 'date-time': return fc.date(ISO_RANGE).map((d) => d.toISOString());
    case 'date': return fc.date(ISO_RANGE).map((d) => d.toISOString().slice(0, 10));
    case 'email': return fc.stringMatching(/^[a-z]{3,10}$/).map((s) => `${s}@example.com`);
    case 'uri':
    case 'url': return fc.stringMatching(/^[a-z]{1,8}$/).map((s) => `https://example.com/${s}`);
    case 'byte': return fc.uint8Array({ maxLength: 32 }).map((b) => Buffer.from(b).toString('base64'));
    default: break;
  }
  if (schema.pattern) {
    return fc.stringMatching(new RegExp(schema.pattern)).filter((s) => s.length >= min && s.length <= (schema.maxLength ?? Infinity));
  }
  return fc.string({ minLength: min, maxLength: max });
}

/** A fast-check arbitrary for values valid against `schema` (the subset of JSON Schema the spec uses). */
export function arbitraryFor(document: Schema, node: Schema | undefined, depth = 0): fc.Arbitrary<unknown> {
  const schema = resolve(document, node);
  if (!schema || depth > 6) return fc.constant(null);
  if ('const' in schema) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...schema.enum);
  if (schema.oneOf || schema.anyOf) {
    const branches = (schema.oneOf ?? schema.anyOf) as Schema[];
    return fc.oneof(...branches.map((b) => arbitraryFor(document, { ...schema, oneOf: undefined, anyOf: undefined, ...resolve(document, b) }, depth + 1)));
  }
  if (schema.allOf) return arbitraryFor(document, mergeAllOf(document, schema), depth + 1);
  const types: string[] = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : schema.properties ? ['object'] : ['string'];
  if (types.length > 1) return fc.oneof(...types.map((type) => arbitraryFor(document, { ...schema, type }, depth)));
  switch (types[0]) {
    case 'null': return fc.constant(null);
    case 'boolean': return fc.boolean();
    case 'integer': {
      const min = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : -1000);
      const max = schema.maximum ?? (schema.exclusiveMaximum !== undefined ? schema.exclusiveMaximum - 1 : Math.max(min, 0) + 100_000);
      return fc.integer({ min, max });
    }
    case 'number': return fc.double({ min: schema.minimum ?? -1e6, max: schema.maximum ?? 1e6, noNaN: true, noDefaultInfinity: true });
    case 'string': return stringArbitrary(schema);
    case 'array': {
      const items = arbitraryFor(document, schema.items ?? {}, depth + 1);
      const constraints = { minLength: schema.minItems ?? 0, maxLength: Math.max(schema.minItems ?? 0, Math.min(schema.maxItems ?? 3, 3)) };
      return schema.uniqueItems ? fc.uniqueArray(items, { ...constraints, selector: (v) => JSON.stringify(v) }) : fc.array(items, constraints);
    }
    default: {
      const properties: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [name, property] of Object.entries<Schema>(schema.properties ?? {})) {
        const resolved = resolve(document, property);
        if (resolved?.readOnly) continue;
        properties[name] = arbitraryFor(document, property, depth + 1);
      }
      if (Object.keys(properties).length === 0) {
        return schema.additionalProperties === false ? fc.constant({}) : fc.dictionary(fc.stringMatching(/^[a-z]{1,6}$/), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 2 });
      }
      const required = (schema.required ?? []).filter((k: string) => k in properties);
      return fc.record(properties, { requiredKeys: required });
    }
  }
}
