#!/usr/bin/env node
/**
 * Regenerates deploy/helm/dagctl/values.schema.json from values.yaml: every key of values.yaml is
 * allowed with the type of its default, any other key is an error (additionalProperties: false), so
 * a misspelt value fails `helm lint/template/install` instead of being ignored. FREE lists the
 * free-form maps (labels, resources, DAG files …); ENUMS and MINS add value constraints.
 * Run after changing values.yaml: node scripts/gen-chart-schema.mjs (helm lint in
 * test/deploy/helm.test.ts fails on a values.yaml key the schema does not know).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parse } from 'yaml';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const chart = join(dirname(fileURLToPath(import.meta.url)), '../deploy/helm/dagctl');
const values = parse(readFileSync(join(chart, 'values.yaml'), 'utf8'));
const FREE = new Set(['commonLabels', 'podAnnotations', 'serviceAccount.annotations', 'redis.bundled.resources', 'redis.bundled.nodeSelector', 'redis.bundled.affinity', 'worker.resources', 'worker.nodeSelector', 'worker.affinity', 'worker.podDisruptionBudget', 'autoscaleMetrics.resources', 'scheduler.dags', 'scheduler.resources', 'scheduler.podDisruptionBudget', 'serve.resources', 'serve.podDisruptionBudget', 'ui.resources', 'ui.podDisruptionBudget', 'serviceMonitor.labels', 'serve.service', 'ui.service']);
const ENUMS = { 'image.pullPolicy': ['Always', 'IfNotPresent', 'Never'], 's3.forcePathStyle': ['', '1', '0'], 'redis.bundled.appendfsync': ['always', 'everysec', 'no'], logLevel: ['debug', 'info', 'warn', 'error'] };
const MINS = { 'worker.concurrency': 1, 'worker.port': 1, 'autoscaleMetrics.port': 1, 'scheduler.port': 1, 'serve.port': 1, 'ui.port': 1, 'worker.graceSeconds': 0, 'worker.handBackSeconds': 1, 'worker.replicas': 0, 'worker.autoscaling.minReplicas': 0, 'worker.autoscaling.maxReplicas': 1, 'worker.autoscaling.jobsPerSlot': 1, 'worker.autoscaling.pollingInterval': 1, 'scheduler.replicas': 1, 'serve.replicas': 1, 'ui.replicas': 1, 'autoscaleMetrics.replicas': 1 };
function schema(v, path) {
  if (FREE.has(path)) return { type: 'object' };
  if (ENUMS[path]) return { type: 'string', enum: ENUMS[path] };
  if (Array.isArray(v)) return { type: 'array' };
  if (v === null) return {};
  if (typeof v === 'object') {
    const properties = {};
    for (const [k, x] of Object.entries(v)) properties[k] = schema(x, path === '' ? k : `${path}.${k}`);
    return { type: 'object', additionalProperties: false, properties };
  }
  if (typeof v === 'boolean') return { type: 'boolean' };
  if (typeof v === 'number') return Number.isInteger(v) ? { type: 'integer', ...(MINS[path] !== undefined ? { minimum: MINS[path] } : {}) } : { type: 'number' };
  return { type: 'string' };
}
const s = { $schema: 'http://json-schema.org/draft-07/schema#', title: 'dagctl chart values (unknown keys are errors: a misspelt value must not be ignored)', ...schema(values, '') };
writeFileSync(join(chart, 'values.schema.json'), JSON.stringify(s, null, 2) + '\n');
