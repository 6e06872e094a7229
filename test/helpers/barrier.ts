/**
 * A barrier the test controls, for noop's `barrier` param (operators/noop.ts): held attempts
 * announce themselves as files under `<dir>/arrived/` (named `<pid>.b<bucket>.a<attempt>.<random>`)
 * and wait until the test calls open(). Fault-injection tests wait for arrivals — work provably in
 * flight, on a known process — inject the fault, then open: nothing depends on how fast the machine
 * is. waitFor's deadline is a liveness bound only (a hang fails with what arrived), never a race.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Arrival {
  pid: number;
  bucket: number;
  attempt: number;
  name: string;
}

export class Barrier {
  readonly dir = mkdtempSync(join(tmpdir(), 'dagctl-barrier-'));

  /** Every attempt that has reached the barrier so far (held or, after open(), passed). */
  arrivals(): Arrival[] {
    let names: string[];
    try {
      names = readdirSync(join(this.dir, 'arrived'));
    } catch {
      return [];
    }
    return names.map((name) => {
      const [pid, b, a] = name.split('.');
      return { pid: Number(pid), bucket: Number(b?.slice(1)), attempt: Number(a?.slice(1)), name };
    });
  }

  /** Polls until `pred` holds over the arrivals; returns them. Fails after `timeoutMs` (liveness). */
  async waitFor(what: string, pred: (arrivals: Arrival[]) => boolean, timeoutMs = 180_000): Promise<Arrival[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const a = this.arrivals();
      if (pred(a)) return a;
      if (Date.now() > deadline) throw new Error(`barrier: no ${what} within ${timeoutMs} ms; arrivals: ${a.map((x) => x.name).join(', ') || 'none'}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Releases every held attempt, and lets every later one pass at once. */
  open(): void {
    writeFileSync(join(this.dir, 'open'), '');
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
