/**
 * Retryability is decided by error code (core/errors.ts PERMANENT_CODES): the task runner's
 * isRetryable, the reducer, and a real embedded run over a corrupt Parquet source file, whose
 * PARQUET_INVALID failure is not retried although the task allows retries.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DagctlError, PERMANENT_CODES } from '../../core/errors.js';
import { isRetryable } from '../../workers/task-runner.js';
import type { StatusView } from '../../scheduler/status-view.js';
import { runCli, workspace } from '../integration/support.js';

describe('contracts: non-retryable error codes', function () {
  this.timeout(120_000);

  it('isRetryable follows the code: permanent codes are not retried, I/O and unknown errors are', () => {
    for (const code of ['PARQUET_INVALID', 'SHUFFLE_INVALID', 'DATASET_SCHEMA_MISMATCH', 'SOURCE_WRITE_REFUSED', 'OPERATOR_INPUT_INVALID'] as const) {
      assert.ok(PERMANENT_CODES.has(code), code);
      assert.equal(isRetryable(new DagctlError(code, 'x')), false, code);
    }
    for (const code of ['STORAGE_IO', 'TASK_TIMEOUT', 'WORKER_CRASHED', 'REDIS_UNAVAILABLE', 'INTERNAL'] as const) assert.equal(isRetryable(new DagctlError(code, 'x')), true, code);
    assert.equal(isRetryable(new Error('socket hang up')), true);
  });

  it('a corrupt Parquet source file fails its instance once with PARQUET_INVALID, not retries times', async () => {
    const ws = await workspace({ rows: 600, days: 2 });
    // Corrupt one committed source file in place (its footer is gone): no attempt can read it.
    const day = join(fileURLToPath(ws.dataUri), 'master', 'pageviews', 'date=2024-03-01');
    const file = (await readdir(day)).find((f) => f.endsWith('.parquet'));
    assert.ok(file !== undefined);
    const bytes = await readFile(join(day, file));
    await writeFile(join(day, file), bytes.subarray(0, bytes.length >> 1));
    const dag = (await readFile(ws.dag, 'utf8')).replace('retries: 1', 'retries: 3');
    await writeFile(ws.dag, dag);
    const r = await runCli(ws, ['run', ws.dag, '--param', `data=${ws.dataUri}`, '--concurrency', '1', '--json']);
    assert.equal(r.code, 1, r.stderr);
    const view = JSON.parse(r.stdout) as StatusView;
    const bad = view.tasks.find((t) => t.name === 'normalize' && t.partition === '2024-03-01');
    assert.equal(bad?.state, 'failed');
    assert.equal(bad?.errorCode, 'PARQUET_INVALID');
    assert.equal(bad?.attempts, 1);
  });
});
