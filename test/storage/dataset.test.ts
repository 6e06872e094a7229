/**
 * Runs the dataset-layer conformance suite against the memory and local stores.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { LocalObjectStore } from '../../storage/local/store.js';
import { MemoryObjectStore } from '../../storage/memory/store.js';
import { datasetStoreConformance } from '../conformance/dataset-store.js';
import { tempDir } from './helpers.js';

datasetStoreConformance('memory', async () => ({ store: new MemoryObjectStore(), cleanup: async () => undefined }));
datasetStoreConformance('local', async () => {
  const dir = await tempDir('ds');
  return { store: new LocalObjectStore(join(dir, 'ds')), cleanup: () => fs.rm(dir, { recursive: true, force: true }) };
});
