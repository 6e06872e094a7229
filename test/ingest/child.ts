/**
 * Child process for the crash tests: runs the ingester as its own process so the parent can
 * SIGKILL it (a real crash: no finally blocks, no flush, sockets dropped).
 *
 *   node dist/test/ingest/child.js cli <dagctl ingest args…>
 *       runs the real `dagctl ingest` command (ingestCommand) with stdio of this process.
 *   node dist/test/ingest/child.js fault <step> <n> <brokers> <topic> <out> <group> <maxBatchRecords>
 *       runs ingestKafka and SIGKILLs itself right after the n-th occurrence of <step>
 *       ('claimed' | 'files-written' | 'marker-written' | 'offsets-committed'): the crash windows
 *       of the commit protocol, hit deterministically.
 * Preconditions: built (dist/), a reachable broker.
 */
import { parseArgs } from 'node:util';
import { ingestCommand } from '../../cli/commands/ingest.js';
import { ingestKafka } from '../../ingest/kafka/consumer.js';
import { openObjectStore } from '../../storage/open.js';

const [mode, ...rest] = process.argv.slice(2);
if (mode === 'cli') {
  const parsed = parseArgs({ args: rest, options: ingestCommand.options, allowPositionals: true, strict: true });
  const code = await ingestCommand.run(
    { values: parsed.values, positionals: parsed.positionals },
    { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(), interrupted: new AbortController().signal },
  );
  process.exit(code);
} else if (mode === 'fault') {
  const [step, n, brokers, topic, out, group, mbr] = rest as [string, string, string, string, string, string, string];
  let seen = 0;
  const s = await ingestKafka({
    brokers: brokers.split(','),
    topic,
    store: await openObjectStore(out),
    groupId: group,
    maxBatchRecords: Number(mbr),
    maxBatchMs: 1_000,
    untilIdleMs: 3_000,
    onStep: (st) => {
      if (st === step && ++seen === Number(n)) {
        process.stderr.write(`fault: SIGKILL after ${step} #${n}\n`);
        process.kill(process.pid, 'SIGKILL');
      }
    },
  });
  process.stdout.write(JSON.stringify(s) + '\n');
  process.exit(0);
} else {
  process.stderr.write('usage: child.js cli|fault …\n');
  process.exit(2);
}
