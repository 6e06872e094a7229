/**
 * Liveness-bounded waits on observable state, the one implementation for the tests. `boundMs` is a
 * liveness bound (a hang fails, naming `what`), never a race or a speed deadline: tests wait on
 * state with it, not on time. Polls every 50 ms.
 *
 *   await until('the run succeeded', 60_000, async () => (await phase()) === 'succeeded');
 *   const port = await untilValue('the port printed', 30_000, () => portIn(out));   // null: not yet
 */
export async function until(what: string, boundMs: number, cond: () => Promise<boolean> | boolean): Promise<void> {
  await untilValue(what, boundMs, async () => ((await cond()) ? true : null));
}

/** Polls `f` until it returns a value other than null, and returns that value (bound as until). */
export async function untilValue<T>(what: string, boundMs: number, f: () => Promise<T | null> | T | null): Promise<T> {
  const deadline = Date.now() + boundMs;
  for (;;) {
    const v = await f();
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`liveness bound of ${boundMs} ms passed waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
