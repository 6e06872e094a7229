/**
 * CommitSource: the data triggers' port onto storage — a source dataset's commits now, under the
 * one listing rule (storage/dataset/source.ts listSourceCommits). The default implementation opens
 * each dataset URI once (storage/open.ts) and caches markers it has read (they are create-only),
 * so polling a dataset costs one listing of its `_commits/` folder plus the new markers — or, on a
 * store with a change token (local folders; source.ts CommitPoll), one stat while nothing was added.
 * On S3 (no change token) every poll lists `_commits/` whole, on purpose: marker keys carry no order
 * a StartAfter could use, and the floor check (triggers.ts checkFloors) counts every marker stamped
 * before a floor (docs/scheduling.md, Polling cost).
 */
import { openSource } from '../../storage/open.js';
import { listSourceCommits, type CommitPoll, type SourceCommit } from '../../storage/dataset/source.js';
import type { ObjectStore } from '../../storage/types.js';
import type { DatasetSpec } from '../../definitions/types.js';

export interface CommitSource {
  commits(ds: DatasetSpec): Promise<SourceCommit[]>;
  /** Polls that listed / that a change token answered, when the source counts them. */
  counts?(): { skipped: number; listed: number };
}

export class StorageCommitSource implements CommitSource {
  private readonly open = new Map<string, { store: ObjectStore; known: Map<string, SourceCommit>; poll: CommitPoll }>();

  /** Polls answered by a change token without listing, and polls that listed. */
  counts(): { skipped: number; listed: number } {
    let skipped = 0;
    let listed = 0;
    for (const o of this.open.values()) {
      skipped += o.poll.skipped;
      listed += o.poll.listed;
    }
    return { skipped, listed };
  }

  async commits(ds: DatasetSpec): Promise<SourceCommit[]> {
    let o = this.open.get(ds.uri);
    if (o === undefined) {
      o = { store: (await openSource(ds.uri)).store, known: new Map(), poll: { skipped: 0, listed: 0 } };
      this.open.set(ds.uri, o);
    }
    try {
      return (await listSourceCommits(o.store, { format: ds.format, ...(ds.partitionBy !== undefined ? { partitionBy: ds.partitionBy } : {}) }, o.known, o.poll)).commits;
    } catch (e) {
      // A dataset not created yet has no commits (the ingester has not written its first batch).
      const code = (e as { code?: string }).code;
      if (code === 'STORAGE_NOT_FOUND' || code === 'DATASET_NOT_FOUND') return [];
      throw e;
    }
  }
}
