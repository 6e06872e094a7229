/**
 * Events that drive a run (inputs of the reducer) and effects it asks for (outputs). Every event
 * carries its time `at` (ms since epoch): the reducer never reads a clock. Instance events carry
 * the attempt they belong to, so a stale or replayed event is recognised and ignored.
 */
import { PERMANENT_CODES } from '../../core/errors.js';
import type { InstanceResult, RunPhase } from '../model.js';

export type RunEvent =
  | { type: 'start'; at: number }
  /** Resume after the driving process died: queued/running instances go back to pending. */
  | { type: 'recover'; at: number }
  | { type: 'started'; id: string; attempt: number; at: number; worker?: string }
  | { type: 'succeeded'; id: string; attempt: number; at: number; result: InstanceResult }
  /** `log`: the attempt's log tail, when it logged (kept in the instance's failedAttempts). */
  | { type: 'failed'; id: string; attempt: number; at: number; error: string; code: string; retryable: boolean; log?: string }
  /** Releases instances whose retry backoff has elapsed. */
  | { type: 'tick'; at: number }
  | { type: 'cancel'; at: number }
  /** Re-run: the given instances (and, by the caller's choice, their downstream) start over. */
  | { type: 'reset'; ids: string[]; at: number };

export type Effect =
  /** Send these instances (their `attempts` is the attempt number) to the executor. */
  | { type: 'dispatch'; ids: string[] }
  /** Ask the running attempts of these instances to stop. */
  | { type: 'abort'; ids: string[] }
  /** Wake the driver at this time with a `tick` (retry backoff). */
  | { type: 'wake'; at: number }
  | { type: 'finished'; phase: RunPhase };

/** Codes whose failures are not retried: retrying cannot change the outcome (core/errors.ts decides). */
export const NON_RETRYABLE_CODES: ReadonlySet<string> = PERMANENT_CODES;
