/**
 * Runs the shared conformance suites (test/conformance/object-store.ts, dataset-store.ts — owned by
 * another engineer) against the S3 store, each store on a fresh prefix of this run. The modules are
 * loaded dynamically so this file compiles and reports a pending test while they do not exist yet;
 * once they exist any import error fails loudly. Skips/fails with the S3 gating of ./env.ts.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ObjectStore } from '../../storage/types.js';
import { makeTestStore, requireS3 } from './env.js';

type Factory = () => Promise<{ store: ObjectStore; cleanup(): Promise<void> }>;
type Suite = (name: string, make: Factory) => void;

/** The suite function a conformance module exports: `objectStoreConformance`, `datasetStoreConformance`. */
async function loadSuite(file: string, exportName: string): Promise<Suite | null> {
  const url = new URL(`../conformance/${file}`, import.meta.url);
  if (!existsSync(fileURLToPath(url))) return null;
  const mod = (await import(url.href)) as Record<string, unknown>;
  const fn = mod[exportName];
  if (typeof fn !== 'function') throw new Error(`${file} does not export ${exportName}`);
  return fn as Suite;
}

const suites: Array<[string, string, Suite | null]> = [
  ['object-store.js', 'objectStoreConformance', await loadSuite('object-store.js', 'objectStoreConformance')],
  ['dataset-store.js', 'datasetStoreConformance', await loadSuite('dataset-store.js', 'datasetStoreConformance')],
];

describe('S3 store: shared conformance suites', function () {
  this.timeout(120_000);
  before(function () {
    requireS3(this);
  });
  for (const [file, exportName, suite] of suites) {
    if (suite === null) {
      it(`${exportName} (test/conformance/${file.replace(/\.js$/, '.ts')} does not exist yet)`);
      continue;
    }
    suite('s3', () => makeTestStore(exportName));
  }
});
