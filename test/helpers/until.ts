/**
 * Polls `cond` until it holds. `boundMs` is a liveness bound (a hang fails, naming `what`), never a
 * race: tests wait on observable state with it, not on time.
 */
export async function until(what: string, boundMs: number, cond: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`liveness bound of ${boundMs} ms passed waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
