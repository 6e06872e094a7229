/**
 * Idle memory of this thread, by the operator that keeps it: what an operator holds between its
 * instances only to reuse it (a WebAssembly kernel instance, whose memory never shrinks while it
 * is kept). A holder registers once per thread (module state) with its operator's name and a
 * `drop` that lets the memory go (to the garbage collector); the task runner calls
 * `dropIdleMemoryExcept(op)` before an instance of operator `op` runs, so a thread that moved on
 * to another operator does not carry the last one's memory into it (e.g. equiv-components'
 * kernels, tens of MB per thread, through rollup, the pipeline's peak). Switching back costs one
 * fresh instance. `drop` must leave the holder usable: its next user builds what it needs anew.
 */

/** One kind of idle memory a module keeps. */
export interface IdleHolder {
  /** The operator whose instances use it (its registered name). */
  operator: string;
  /** Bytes held idle now (0 when nothing is kept). */
  bytes: () => number;
  /** Lets the idle memory go; a later user builds it anew. */
  drop: () => void;
}

const holders = new Set<IdleHolder>();

/** Registers a holder of idle memory on this thread; returns its unregister function. */
export function registerIdleMemory(h: IdleHolder): () => void {
  holders.add(h);
  return () => void holders.delete(h);
}

/** Which holders an instance of `operator` makes drop: every other operator's that holds bytes (pure). */
export function idleToDrop(operator: string, held: ReadonlyArray<{ operator: string; bytes: number }>): number[] {
  const out: number[] = [];
  held.forEach((h, i) => {
    if (h.operator !== operator && h.bytes > 0) out.push(i);
  });
  return out;
}

/** Drops the idle memory other operators keep on this thread; returns the bytes let go. */
export function dropIdleMemoryExcept(operator: string): number {
  const list = [...holders];
  const held = list.map((h) => ({ operator: h.operator, bytes: h.bytes() }));
  let bytes = 0;
  for (const i of idleToDrop(operator, held)) {
    bytes += held[i]!.bytes;
    list[i]!.drop();
  }
  return bytes;
}
