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

/**
 * Polls `cond` until it holds, for waits whose length grows with the machine's load (a loop of
 * runs): fails only when `progress()` — a signature of the observed state — has not changed for
 * `stallMs` (a stall, naming `what` and the last signature), never because the work is slow.
 */
export async function untilProgressing(what: string, stallMs: number, cond: () => Promise<boolean> | boolean, progress: () => Promise<string> | string): Promise<void> {
  let last = await progress();
  let since = Date.now();
  for (;;) {
    if (await cond()) return;
    const now = await progress();
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since > stallMs) {
      throw new Error(`no progress for ${stallMs} ms waiting for: ${what} (state: ${now})`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
