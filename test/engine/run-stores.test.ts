/**
 * Runs the RunStore conformance suite against the in-memory and local-filesystem stores.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryRunStore } from '../../scheduler/stores/memory-run-store.js';
import { LocalRunStore } from '../../scheduler/stores/local-run-store.js';
import { runStoreConformance } from '../conformance/run-store.js';

runStoreConformance('memory', { make: async () => new MemoryRunStore() });

let dir = '';
runStoreConformance('local', {
  make: async () => {
    dir = await mkdtemp(join(tmpdir(), 'dagctl-runstore-'));
    return new LocalRunStore(dir);
  },
  reopen: async (s) => new LocalRunStore((s as LocalRunStore).home),
  cleanup: async () => {
    await rm(dir, { recursive: true, force: true });
  },
});
