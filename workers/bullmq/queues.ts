/**
 * The BullMQ side of dispatch: one Queue object per dagctl queue (opened lazily), the options every
 * instance job gets, and adding jobs with deterministic ids.
 *
 * BullMQ's own retries are off (attempts: 1): dagctl's reducer owns retries and backoff. A job id
 * names one attempt (keys.jobId), so adding a job that exists is a no-op — enqueueing twice (a
 * crash between apply and enqueue, the sweeper racing a worker) duplicates nothing.
 *
 * A job carries one InstanceJob, or a bundle of them (scheduler/bundle-policy.ts): short ready
 * instances of one run/queue/task/stage share a job (keys.bundleJobId), each member keeping its
 * own attempt. Payloads are references only (InstanceJobs hold URIs and file lists, never data).
 */
import { jobKeyFromEnv, withMac } from './job-auth.js';
import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import { DagctlError, errorMessage } from '../../core/errors.js';
import type { InstanceJob } from '../../scheduler/jobs.js';
import { BULL_PREFIX, bundleJobId, jobId, queueName } from '../../scheduler/redis/keys.js';

export const JOB_OPTIONS: JobsOptions = {
  attempts: 1,
  // A finished job is removed at once: the run state is the source of truth, and `reset` (retry)
  // numbers attempts from 1 again, so the id must be free for the new attempt 1. Safe: an attempt
  // is dispatched once (pending → queued happens once per attempt in the apply script), its report
  // is applied before its job completes, and a job re-added after that finds the attempt finished.
  removeOnComplete: true,
  // Failed jobs (the processor could not report) are kept for inspection; the sweeper removes one
  // before re-adding its attempt.
  removeOnFail: { age: 24 * 3600, count: 10_000 },
};

export interface InstanceJobSpec {
  queue: string;
  job: InstanceJob;
}

/** Several attempts of one run in one queue job; its members run in order on one worker slot. */
export interface BundleJob {
  runId: string;
  bundle: InstanceJob[];
}

/** What a dagctl queue job carries. */
export type WorkJob = InstanceJob | BundleJob;

export interface BundleJobSpec {
  queue: string;
  /** ≥ 2 members (a bundle of one is a plain InstanceJobSpec). */
  members: InstanceJob[];
}

export type WorkJobSpec = InstanceJobSpec | BundleJobSpec;

export function isBundle(data: WorkJob): data is BundleJob {
  return 'bundle' in data;
}

/** The InstanceJobs a queue job carries, in order. */
export function membersOf(data: WorkJob): InstanceJob[] {
  return isBundle(data) ? data.bundle : [data];
}

/** The deterministic id of a job spec (keys.jobId or keys.bundleJobId). */
export function specJobId(spec: WorkJobSpec): string {
  if ('job' in spec) return jobId(spec.job.runId, spec.job.instanceId, spec.job.attempt);
  const first = spec.members[0];
  if (first === undefined) throw new DagctlError('INTERNAL', 'empty bundle');
  return bundleJobId(first.runId, first.instanceId, first.attempt, spec.members.length);
}

export class Queues {
  private readonly open = new Map<string, Queue>();

  /** Connection options (BullMQ opens its own) or a shared ioredis client. */
  constructor(
    private readonly connection: ConnectionOptions,
    /** Signs each job payload (job-auth.ts); default DAGCTL_JOB_KEY. */
    private readonly key: Buffer | null = jobKeyFromEnv(),
  ) {}

  get(queue: string): Queue {
    let q = this.open.get(queue);
    if (q === undefined) {
      q = new Queue(queueName(queue), { connection: this.connection, prefix: BULL_PREFIX, skipMetasUpdate: false });
      q.on('error', () => {});
      this.open.set(queue, q);
    }
    return q;
  }

  /** Adds the jobs (grouped per queue, one round trip per queue). Existing ids are no-ops. */
  async add(specs: readonly WorkJobSpec[]): Promise<void> {
    const only = specs.length === 1 ? specs[0] : undefined;
    if (only !== undefined) {
      // One job (a chain's successor: the dependent hop): a plain add, one script call without
      // addBulk's pipeline and per-batch bookkeeping.
      try {
        await this.get(only.queue).add(...this.entry(only));
      } catch (e) {
        throw new DagctlError('QUEUE_FAILED', `cannot enqueue 1 job: ${errorMessage(e)}`, {}, { cause: e });
      }
      return;
    }
    const byQueue = new Map<string, WorkJobSpec[]>();
    for (const s of specs) {
      const list = byQueue.get(s.queue);
      if (list === undefined) byQueue.set(s.queue, [s]);
      else list.push(s);
    }
    try {
      await Promise.all(
        [...byQueue].map(([queue, list]) =>
          this.get(queue).addBulk(
            list.map((spec) => {
              const [name, data, opts] = this.entry(spec);
              return { name, data, opts };
            }),
          ),
        ),
      );
    } catch (e) {
      throw new DagctlError('QUEUE_FAILED', `cannot enqueue ${specs.length} job(s): ${errorMessage(e)}`, {}, { cause: e });
    }
  }

  /** A spec as BullMQ's (name, data, opts): the payload signed (job-auth.ts), the deterministic id. */
  private entry(spec: WorkJobSpec): [string, WorkJob, JobsOptions] {
    const name = 'job' in spec ? spec.job.instanceId : `bundle of ${spec.members.length}`;
    const data = withMac(this.key, 'job' in spec ? (spec.job as WorkJob) : ({ runId: spec.members[0]?.runId ?? '', bundle: spec.members }));
    return [name, data, { ...JOB_OPTIONS, jobId: specJobId(spec) }];
  }

  /** Redis key of a job's hash (to check, in one pipeline, which jobs exist and finished). */
  jobKey(queue: string, id: string): string {
    return this.get(queue).toKey(id);
  }

  names(): string[] {
    return [...this.open.keys()];
  }

  async close(): Promise<void> {
    await Promise.all([...this.open.values()].map((q) => q.close().catch(() => undefined)));
    this.open.clear();
  }
}
