/**
 * Prometheus metrics of a `dagctl worker`, rendered in the text exposition format (no client
 * library needed): counters of processed / failed / stale instances, a duration histogram, and
 * per-queue job counts read from BullMQ when /metrics is scraped.
 */
const BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900];

export class WorkerMetrics {
  processed = 0;
  failed = 0;
  stale = 0;
  handedBack = 0;
  /** Queue jobs taken, and how many of them were bundles (instances counted above: per member). */
  jobs = 0;
  bundles = 0;
  /** Events applied and apply calls made by the worker's EventBatcher (set by the worker). */
  batches: () => { events: number; calls: number } = () => ({ events: 0, calls: 0 });
  private readonly hist = new Array<number>(BUCKETS_S.length).fill(0);
  private sum = 0;
  private count = 0;

  observe(ms: number, ok: boolean): void {
    if (ok) this.processed++;
    else this.failed++;
    const s = ms / 1000;
    this.sum += s;
    this.count++;
    BUCKETS_S.forEach((b, i) => {
      if (s <= b) this.hist[i] = (this.hist[i] ?? 0) + 1;
    });
  }

  render(labels: { worker: string }, depth: Record<string, Record<string, number>>, inFlight: number): string {
    const l = `worker="${esc(labels.worker)}"`;
    const out: string[] = [
      '# HELP dagctl_instances_processed_total Task instance attempts that succeeded on this worker.',
      '# TYPE dagctl_instances_processed_total counter',
      `dagctl_instances_processed_total{${l}} ${this.processed}`,
      '# HELP dagctl_instances_failed_total Task instance attempts that failed on this worker.',
      '# TYPE dagctl_instances_failed_total counter',
      `dagctl_instances_failed_total{${l}} ${this.failed}`,
      '# HELP dagctl_instances_stale_total Jobs whose attempt was already finished or superseded (duplicates), skipped.',
      '# TYPE dagctl_instances_stale_total counter',
      `dagctl_instances_stale_total{${l}} ${this.stale}`,
      '# HELP dagctl_instances_handed_back_total In-flight jobs (single or bundle) handed back to the queue at shutdown.',
      '# TYPE dagctl_instances_handed_back_total counter',
      `dagctl_instances_handed_back_total{${l}} ${this.handedBack}`,
      '# HELP dagctl_jobs_processed_total Queue jobs taken by this worker (a bundle job carries several instances).',
      '# TYPE dagctl_jobs_processed_total counter',
      `dagctl_jobs_processed_total{${l}} ${this.jobs}`,
      '# HELP dagctl_bundles_processed_total Bundle jobs (several short instances in one job) taken by this worker.',
      '# TYPE dagctl_bundles_processed_total counter',
      `dagctl_bundles_processed_total{${l}} ${this.bundles}`,
      '# HELP dagctl_run_events_applied_total Run events applied by this worker (started, succeeded, failed).',
      '# TYPE dagctl_run_events_applied_total counter',
      `dagctl_run_events_applied_total{${l}} ${this.batches().events}`,
      '# HELP dagctl_run_event_batches_total Apply-script calls that carried them (events / batches = mean batch size).',
      '# TYPE dagctl_run_event_batches_total counter',
      `dagctl_run_event_batches_total{${l}} ${this.batches().calls}`,
      '# HELP dagctl_instances_in_flight Jobs (single or bundle) this worker is running now.',
      '# TYPE dagctl_instances_in_flight gauge',
      `dagctl_instances_in_flight{${l}} ${inFlight}`,
      '# HELP dagctl_instance_duration_seconds Duration of instance attempts on this worker.',
      '# TYPE dagctl_instance_duration_seconds histogram',
    ];
    BUCKETS_S.forEach((b, i) => out.push(`dagctl_instance_duration_seconds_bucket{${l},le="${b}"} ${this.hist[i] ?? 0}`));
    out.push(`dagctl_instance_duration_seconds_bucket{${l},le="+Inf"} ${this.count}`);
    out.push(`dagctl_instance_duration_seconds_sum{${l}} ${this.sum}`);
    out.push(`dagctl_instance_duration_seconds_count{${l}} ${this.count}`);
    out.push('# HELP dagctl_queue_jobs BullMQ jobs per queue and state (cluster-wide).', '# TYPE dagctl_queue_jobs gauge');
    for (const [queue, counts] of Object.entries(depth)) {
      for (const [state, n] of Object.entries(counts)) out.push(`dagctl_queue_jobs{queue="${esc(queue)}",state="${esc(state)}"} ${n}`);
    }
    return out.join('\n') + '\n';
  }
}

function esc(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
