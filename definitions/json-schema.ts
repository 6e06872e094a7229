/**
 * The JSON Schema of the DAG file format, generated from the zod schemas (definitions/schema.ts) so it
 * cannot drift from what the validator accepts structurally. It describes what authors write
 * (zod's "input" side: fields with defaults are optional), draft 2020-12.
 *
 * Precondition: none. Semantic rules (names, references, cycles…) are not expressible here;
 * `dagctl validate` is the authority.
 */
import { z } from 'zod';
import { DagFileSchema } from './schema.js';

export const DAG_SCHEMA_ID = 'https://dagctl.dev/schema/dag-v1.json';

export function dagJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(DagFileSchema, { io: 'input', target: 'draft-2020-12' }) as Record<string, unknown>;
  return { ...schema, $id: DAG_SCHEMA_ID };
}
