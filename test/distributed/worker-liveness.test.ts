/**
 * Seeing a dead worker fast, and saying why a connection failed: real Redis, real `dagctl worker`
 * processes with their default lock. A SIGKILLed worker's held attempt is redelivered by the short,
 * renewed job lock (not BullMQ's old 30 s); `dagctl workers --json` lists live workers with their
 * current instances and drops a killed one; a wrong password and an untrusted TLS certificate get
 * their own codes instead of "Connection is closed".
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDagctlError } from '../../core/errors.js';
import { connectRedis } from '../../scheduler/redis/connection.js';
import type { WorkerBeat } from '../../workers/bullmq/heartbeat.js';
import { dagOf, noopTask, recordOf } from '../helpers/dags.js';
import { BIN, submit, waitFinished } from './cluster.js';
import { redisUrl, uniqueRunId } from './redis-env.js';
import { distributedSuite } from './fixture.js';

async function workersJson(): Promise<Array<WorkerBeat & { heartbeatAgoMs: number }>> {
  const p = spawn(process.execPath, [BIN, 'workers', '--redis', redisUrl(), '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  const [code] = await once(p, 'exit');
  assert.equal(code, 0, out);
  return JSON.parse(out) as Array<WorkerBeat & { heartbeatAgoMs: number }>;
}

describe('worker liveness (Redis + worker processes, default lock)', function () {
  const f = distributedSuite(this);

  it('a SIGKILLed worker is listed until its heartbeat expires; its held attempt is retried within seconds, not after 30 s', async () => {
    const c = f.cluster(redisUrl(), ['--grace', '5s']);
    const b = f.barrier();
    const first = await c.startWorker();
    const dag = dagOf('deadworker', [noopTask('held', { params: { barrier: b.dir } })]);
    const record = recordOf(dag, uniqueRunId('deadworker'));
    await submit(f.store, record);
    await b.waitFor('the attempt held on the first worker', (a) => a.some((x) => x.pid === first.child.pid));
    // The next heartbeat (every second) lists the held attempt.
    let listed: (WorkerBeat & { heartbeatAgoMs: number }) | undefined;
    for (let tries = 0; ; tries++) {
      listed = (await workersJson()).find((w) => w.name === first.name);
      if (listed !== undefined && listed.current.length > 0) break;
      assert.ok(tries < 100, `the live worker's current attempt is never listed: ${JSON.stringify(listed)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(listed.pid, first.child.pid);
    assert.equal(listed.concurrency, 1);
    assert.deepEqual(listed.current, [{ runId: record.runId, instances: ['held.main'] }]);
    assert.ok(listed.heartbeatAgoMs < 10_000);

    first.child.kill('SIGKILL');
    await first.exited;
    const t0 = Date.now();
    const second = await c.startWorker();
    await b.waitFor('the attempt redelivered to the second worker', (a) => a.some((x) => x.pid === second.child.pid), 60_000);
    const ms = Date.now() - t0;
    // The lock is 5 s (renewed every 2.5 s), checked every 2.5 s: ~7.5 s at worst, against 30–45 s before.
    assert.ok(ms < 20_000, `the dead worker's attempt came back after ${ms} ms`);
    b.open();
    const final = await waitFinished(f.store, record.runId, 120_000);
    assert.equal(final.phase, 'succeeded');
    assert.equal(final.instances['held.main']?.attempts, 1, 'a redelivery is not a retry');
    assert.equal(final.instances['held.main']?.worker, second.name);
    // The killed worker's heartbeat expires (5 beats of 1 s); the live one stays.
    for (;;) {
      const names = (await workersJson()).map((w) => w.name);
      if (!names.includes(first.name)) {
        assert.ok(names.includes(second.name));
        break;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  });

  it('a wrong password is REDIS_AUTH_FAILED, not "Connection is closed"', async () => {
    const user = `dagctl-test-${process.pid}`;
    await f.redis.call('ACL', 'SETUSER', user, 'on', '>right-password', '~*', '+@all');
    try {
      const url = new URL(redisUrl());
      url.username = user;
      url.password = 'wrong-password';
      await assert.rejects(connectRedis(url.toString(), 'client'), (e) => isDagctlError(e, 'REDIS_AUTH_FAILED') && !e.message.includes('wrong-password'));
    } finally {
      await f.redis.call('ACL', 'DELUSER', user);
    }
  });

  it('an untrusted TLS certificate is REDIS_TLS_UNTRUSTED', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dagctl-tls-'));
    let server: Server | undefined;
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-days', '1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
      const s = (server = createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (sock) => sock.end()));
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
      const port = (s.address() as { port: number }).port;
      await assert.rejects(connectRedis(`rediss://127.0.0.1:${port}`, 'client', {}), (e) => isDagctlError(e, 'REDIS_TLS_UNTRUSTED'));
    } finally {
      server?.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
