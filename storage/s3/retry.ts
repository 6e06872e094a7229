/**
 * Retry loop with exponential backoff and full jitter (sleep uniform(0, min(cap, base·2^n)), see the
 * AWS Architecture Blog "Exponential Backoff And Jitter"): spreads out writers that failed together
 * so they do not retry in lock-step against a throttling server.
 *
 * Preconditions: `fn` is safe to repeat (the store only passes idempotent reads and conditional
 * writes). `fn` receives the 1-based attempt number so writers know their outcome may be ambiguous.
 */
export interface RetryPolicy {
  maxAttempts: number;
  baseMs: number;
  capMs: number;
  isRetryable(e: unknown): boolean;
  /** Injectable for tests. */
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export function backoffMs(attempt: number, baseMs: number, capMs: number, random: () => number): number {
  // attempt is the number of failures so far (1 → first retry); cap the exponent to avoid Infinity.
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function withRetry<T>(policy: RetryPolicy, fn: (attempt: number) => Promise<T>): Promise<T> {
  const random = policy.random ?? Math.random;
  const sleep = policy.sleep ?? defaultSleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      if (attempt >= policy.maxAttempts || !policy.isRetryable(e)) throw e;
      await sleep(backoffMs(attempt, policy.baseMs, policy.capMs, random));
    }
  }
}
