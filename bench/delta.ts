/**
 * Reading the current file list of a view that is a Delta Lake table (storage/dataset/delta-log.ts)
 * with 1,000 versions and 1,000 files: version k adds one file, so the current version lists all
 * 1,000. Median of 5 reads each, on local disk:
 *   readDeltaSnapshot, cold (the checkpoint of version 990, written every 10 versions, then the
 *                  commits after it: proportional to files, not versions);
 *   readCurrent    what dagctl's readers call: from the log, cold (cache cleared) and with the
 *                  process's cached snapshot (`_CURRENT` as the hint + one commit re-read);
 *   readPublished  `_CURRENT` and its manifest (the reader before the log was the truth);
 *   delta-rs       DeltaTable(path).file_uris() in-process in Python (interpreter start and
 *                  import excluded), when DAGCTL_DELTALAKE_PYTHON is set
 *                  (`eval "$(scripts/provision/deltalake.sh start)"`).
 * Ratios against delta-rs (the peer a foreign reader pays) are printed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { clearDeltaSnapshotCache, readDeltaSnapshot, syncDeltaLog } from '../storage/dataset/delta-log.js';
import { publishVersion, readCurrent, readPublished } from '../storage/dataset/publish.js';
import { openObjectStore } from '../storage/open.js';
import { getCodec } from '../storage/parquet/registry.js';
import type { FileEntry } from '../storage/types.js';
import { median } from './types.js';
import type { BenchResult } from './types.js';

const VERSIONS = 1000;
const RUNS = 5;

const DELTA_RS = `
import sys, time, json
from deltalake import DeltaTable
ts = []
for _ in range(${RUNS}):
    t0 = time.perf_counter()
    n = len(DeltaTable(sys.argv[1]).file_uris())
    ts.append((time.perf_counter() - t0) * 1000)
print(json.dumps({"files": n, "ms": sorted(ts)[len(ts) // 2]}))
`;

export async function benchDelta(): Promise<BenchResult> {
  const dir = await mkdtemp(join(tmpdir(), 'dagctl-bench-delta-'));
  try {
    const store = await openObjectStore(pathToFileURL(dir).href);
    const codec = getCodec('flat');
    const bytes = await codec.encode([{ name: 'url', type: 'string' }, { name: 'n', type: 'int64' }], [{ url: 'a', n: 1 }]);
    const files: FileEntry[] = [];
    for (let k = 0; k < VERSIONS; k++) {
      const path = `part-${String(k).padStart(5, '0')}.parquet`;
      await store.putIfAbsent(path, bytes);
      files.push({ path, rows: 1, bytes: bytes.length, sha256: String(k) });
      // Published without the log, logged every 250 publications (within the pointer's history of
      // 500; a sync per publication would replay the log 1,000 times to build the table).
      // The last one as a real publisher does: with the log (which it catches up).
      const r = await publishVersion(store, { version: `v${String(k).padStart(5, '0')}`, dataset: 'bench', files: [...files], deltaLog: k === VERSIONS - 1 });
      if (k % 250 === 249) await syncDeltaLog(store, r.pointer, codec);
    }
    const last = await readDeltaSnapshot(store);
    if (last?.version !== VERSIONS - 1) throw new Error(`expected Delta version ${VERSIONS - 1}, the log has ${String(last?.version)}`);

    const time = async (f: () => Promise<number>): Promise<{ ms: number; files: number }> => {
      const ts: number[] = [];
      let n = 0;
      for (let i = 0; i < RUNS; i++) {
        const t0 = performance.now();
        n = await f();
        ts.push(performance.now() - t0);
      }
      return { ms: median(ts), files: n };
    };
    const delta = await time(async () => {
      clearDeltaSnapshotCache();
      return (await readDeltaSnapshot(store))!.files.size;
    });
    const cold = await time(async () => {
      clearDeltaSnapshotCache();
      return (await readCurrent(store))!.manifest.files.length;
    });
    const current = await time(async () => (await readCurrent(store))!.manifest.files.length);
    const manifest = await time(async () => (await readPublished(store))!.manifest.files.length);
    for (const r of [delta, cold, current, manifest]) if (r.files !== VERSIONS) throw new Error(`expected ${VERSIONS} files, read ${r.files}`);
    const metrics: Record<string, number> = { versions: VERSIONS, files: VERSIONS, dagctlDeltaMs: delta.ms, dagctlCurrentColdMs: cold.ms, dagctlCurrentMs: current.ms, dagctlManifestMs: manifest.ms };
    const lines = [
      `delta log, ${VERSIONS} versions, ${VERSIONS} files (local disk, median of ${RUNS}):`,
      `  readDeltaSnapshot, cold (checkpoint + commits after it) ${delta.ms.toFixed(1)} ms`,
      `  readCurrent from the log: cold ${cold.ms.toFixed(1)} ms, cached snapshot ${current.ms.toFixed(2)} ms`,
      `  readPublished (_CURRENT + manifest, the pre-log reader) ${manifest.ms.toFixed(2)} ms → readCurrent cached ${(current.ms / manifest.ms).toFixed(2)}×`,
    ];
    const python = process.env.DAGCTL_DELTALAKE_PYTHON;
    if (python !== undefined && python !== '') {
      const r = spawnSync(python, ['-c', DELTA_RS, dir], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`delta-rs: ${r.stderr}`);
      const rs = JSON.parse(r.stdout) as { files: number; ms: number };
      if (rs.files !== VERSIONS) throw new Error(`delta-rs read ${rs.files} files, expected ${VERSIONS}`);
      metrics.deltaRsMs = rs.ms;
      lines.push(`  delta-rs DeltaTable().file_uris() ${rs.ms.toFixed(1)} ms → dagctl's cold log read ${(cold.ms / rs.ms).toFixed(2)}× delta-rs, cached ${(current.ms / rs.ms).toFixed(3)}× delta-rs`);
    } else {
      lines.push('  delta-rs peer skipped: DAGCTL_DELTALAKE_PYTHON is not set (eval "$(scripts/provision/deltalake.sh start)")');
    }
    return { name: 'delta', lines, metrics };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
