/**
 * The SuperWebAnalytics.com domain (Marz, "Big Data"): the schemas of its master datasets, one
 * definition shared by the generator (gen/), Kafka micro-batch ingest (ingest/) and the operators
 * that read them (rollup). A fixed contract:
 *   pageviews: url string, person string, ts int64 (epoch seconds, UTC)
 *   equivs:    id1 string, id2 string, ts int64 (two identifiers of the same person)
 *   ages:      person string, age int32, ts int64
 */
import type { Schema } from '../storage/types.js';

export const PAGEVIEWS_SCHEMA: Schema = [
  { name: 'url', type: 'string' },
  { name: 'person', type: 'string' },
  { name: 'ts', type: 'int64' },
];

export const EQUIVS_SCHEMA: Schema = [
  { name: 'id1', type: 'string' },
  { name: 'id2', type: 'string' },
  { name: 'ts', type: 'int64' },
];

export const AGES_SCHEMA: Schema = [
  { name: 'person', type: 'string' },
  { name: 'age', type: 'int32' },
  { name: 'ts', type: 'int64' },
];
