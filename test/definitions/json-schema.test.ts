/**
 * The JSON Schema generated from zod (`dagctl schema`): its structure mirrors the zod schemas
 * (required fields, enums, strictness), the valid fixtures conform to it, and for a set of
 * structural mutations it accepts exactly what zod accepts.
 */
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { dagJsonSchema } from '../../definitions/json-schema.js';
import { DagFileSchema, DatasetSchema, TaskSchema } from '../../definitions/schema.js';
import { readFixtures } from './support/fixtures.js';
import { schemaErrors } from './support/mini-json-schema.js';

type Schema = Record<string, unknown>;
const schema = dagJsonSchema();
const props = schema.properties as Record<string, Schema>;
const taskSchema = (props.tasks?.items ?? {}) as Schema;
const datasetSchema = (props.datasets?.additionalProperties ?? {}) as Schema;

describe('spec: JSON Schema', () => {
  it('is draft 2020-12 with an $id, strict at every object level', () => {
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.equal(typeof schema.$id, 'string');
    for (const s of [schema, taskSchema, datasetSchema, props.metadata as Schema, props.defaults as Schema]) assert.equal(s.additionalProperties, false);
  });

  it('has the same fields, required fields and enums as the zod schemas', () => {
    assert.deepEqual(Object.keys(props).sort(), Object.keys(DagFileSchema.shape).sort());
    assert.deepEqual(Object.keys(taskSchema.properties as Schema).sort(), Object.keys(TaskSchema.shape).sort());
    assert.deepEqual(Object.keys(datasetSchema.properties as Schema).sort(), Object.keys(DatasetSchema.shape).sort());
    // Required = fields zod does not accept as absent.
    const requiredOf = (shape: Record<string, { safeParse(v: unknown): { success: boolean } }>): string[] =>
      Object.entries(shape).filter(([, s]) => !s.safeParse(undefined).success).map(([k]) => k).sort();
    assert.deepEqual([...(schema.required as string[])].sort(), requiredOf(DagFileSchema.shape));
    assert.deepEqual([...(taskSchema.required as string[])].sort(), requiredOf(TaskSchema.shape));
    assert.deepEqual([...(datasetSchema.required as string[])].sort(), requiredOf(DatasetSchema.shape));
    const dsProps = datasetSchema.properties as Record<string, Schema>;
    assert.deepEqual(dsProps.format?.enum, DatasetSchema.shape.format.unwrap().options);
    assert.deepEqual(dsProps.partitionBy?.enum, DatasetSchema.shape.partitionBy.unwrap().options);
  });

  it('accepts the valid example DAGs', () => {
    for (const f of readFixtures('valid')) {
      // Interpolated fields (`buckets: ${params.n}`) are strings before interpolation: the schema
      // types params as free-form records, so they still conform.
      assert.deepEqual(schemaErrors(schema, parse(f.text) as unknown), [], f.name);
    }
  });

  it('agrees with zod on structural mutations of a valid DAG', () => {
    const base = () => ({
      apiVersion: 'dagctl/v1', kind: 'Dag', metadata: { name: 'm' },
      datasets: { d: { uri: 'x', format: 'parquet' } },
      tasks: [{ name: 'a', operator: 'noop', inputs: ['d'], retries: 1 }],
    } as Record<string, unknown> & { tasks: Record<string, unknown>[]; datasets: Record<string, Record<string, unknown>>; metadata: Record<string, unknown> });
    const mutations: [string, (d: ReturnType<typeof base>) => void][] = [
      ['none', () => {}],
      ['no apiVersion', (d) => delete d.apiVersion],
      ['wrong kind', (d) => (d.kind = 'Job')],
      ['extra top key', (d) => (d.extra = 1)],
      ['no tasks', (d) => (d.tasks = [])],
      ['task without operator', (d) => delete d.tasks[0]?.operator],
      ['negative retries', (d) => d.tasks[0] !== undefined && (d.tasks[0].retries = -1)],
      ['fractional retries', (d) => d.tasks[0] !== undefined && (d.tasks[0].retries = 1.5)],
      ['inputs not a list', (d) => d.tasks[0] !== undefined && (d.tasks[0].inputs = 'd')],
      ['unknown format', (d) => d.datasets.d !== undefined && (d.datasets.d.format = 'csv')],
      ['dataset without uri', (d) => delete d.datasets.d?.uri],
      ['zero retention', (d) => d.datasets.d !== undefined && (d.datasets.d.retention = 0)],
      ['metadata extra', (d) => (d.metadata.owner = 'x')],
      ['params of lists', (d) => (d.params = { a: [1] })],
      ['timeout number', (d) => d.tasks[0] !== undefined && (d.tasks[0].timeout = 500)],
      ['timeout bool', (d) => d.tasks[0] !== undefined && (d.tasks[0].timeout = true)],
    ];
    for (const [name, mutate] of mutations) {
      const doc = base();
      mutate(doc);
      assert.equal(schemaErrors(schema, doc).length === 0, DagFileSchema.safeParse(doc).success, name);
    }
  });
});
