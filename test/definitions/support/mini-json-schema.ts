/**
 * A tiny JSON Schema checker for the subset z.toJSONSchema emits for the DAG format (type, const,
 * enum, properties, required, additionalProperties, items, minItems, minimum, maximum,
 * exclusiveMinimum, anyOf). There is no ajv in the project; this is enough to check that example
 * DAGs conform to the generated schema. Returns the JSON pointers of violations.
 */
type Schema = Record<string, unknown>;

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function typeMatches(want: unknown, v: unknown): boolean {
  const types = Array.isArray(want) ? want : [want];
  const t = typeOf(v);
  return types.some((w) => w === t || (w === 'number' && t === 'integer'));
}

export function schemaErrors(schema: Schema, value: unknown, at = ''): string[] {
  const errs: string[] = [];
  if (schema.type !== undefined && !typeMatches(schema.type, value)) return [`${at}: type`];
  if ('const' in schema && schema.const !== value) errs.push(`${at}: const`);
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) errs.push(`${at}: enum`);
  if (Array.isArray(schema.anyOf) && !schema.anyOf.some((s) => schemaErrors(s as Schema, value, at).length === 0)) errs.push(`${at}: anyOf`);
  if (typeof value === 'number') {
    if (typeof schema.minimum === 'number' && value < schema.minimum) errs.push(`${at}: minimum`);
    if (typeof schema.maximum === 'number' && value > schema.maximum) errs.push(`${at}: maximum`);
    if (typeof schema.exclusiveMinimum === 'number' && value <= schema.exclusiveMinimum) errs.push(`${at}: exclusiveMinimum`);
  }
  if (Array.isArray(value)) {
    if (typeof schema.minItems === 'number' && value.length < schema.minItems) errs.push(`${at}: minItems`);
    if (schema.items !== undefined) value.forEach((v, i) => errs.push(...schemaErrors(schema.items as Schema, v, `${at}/${i}`)));
  } else if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const props = (schema.properties ?? {}) as Record<string, Schema>;
    for (const r of (schema.required ?? []) as string[]) if (!(r in obj)) errs.push(`${at}/${r}: required`);
    for (const [k, v] of Object.entries(obj)) {
      const sub = props[k];
      if (sub !== undefined) errs.push(...schemaErrors(sub, v, `${at}/${k}`));
      else if (schema.additionalProperties === false) errs.push(`${at}/${k}: additionalProperties`);
      else if (typeof schema.additionalProperties === 'object') errs.push(...schemaErrors(schema.additionalProperties as Schema, v, `${at}/${k}`));
    }
  }
  return errs;
}
