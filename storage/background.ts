/**
 * Background writes: a store write started without awaiting it (so encoding the next file, or
 * computing the next rows, overlaps the temp-file write + fsync + link), whose failure is held as
 * a value until the writer awaits it — never an unhandled rejection, never lost: writers await
 * every background write before returning their files from close().
 */
export class Failure {
  constructor(readonly error: unknown) {}
}

export type Background = Promise<Failure | undefined>;

export function background(p: Promise<unknown>): Background {
  return p.then(() => undefined, (e: unknown) => new Failure(e));
}

/** Awaits background writes, rethrowing the first failure. */
export async function settle(...ps: Background[]): Promise<void> {
  for (const r of await Promise.all(ps)) if (r instanceof Failure) throw r.error;
}
