/**
 * Publication guards: pure decisions a publisher runs against the current publication of a dataset
 * right before swapping `_CURRENT` (see publish.ts `check`). Each throws a coded DagctlError with
 * the numbers and names a user needs, or returns.
 *
 *   checkProducer(target, current, producer, takeOver) — DATASET_PRODUCER_CONFLICT when the current
 *     version was published by another DAG (by name) and the dataset is not taken over explicitly;
 *   checkShrink(target, current, newRows, maxShrink)   — VIEW_SHRINK when the new version would drop
 *     more than `maxShrink` (a share, 0..1) of the current version's rows.
 * Versions published before producers were recorded have no producer: any DAG may replace them.
 */
import { DagctlError } from '../../core/errors.js';
import type { Producer } from '../types.js';
import type { CurrentView } from './publish.js';

/** Default share of the current version's rows a new view version may drop. */
export const DEFAULT_MAX_SHRINK = 0.5;

export interface GuardTarget {
  /** The dataset's name in the publishing DAG. */
  dataset: string;
  uri: string;
}

/** The producer recorded for the current publication (its swap), else its manifest's. */
export function currentProducer(current: CurrentView | null): Producer | undefined {
  return current?.pointer.publication?.producer ?? current?.manifest.producer;
}

export function checkProducer(target: GuardTarget, current: CurrentView | null, producer: Producer, takeOver: boolean): void {
  const other = currentProducer(current);
  if (takeOver || other === undefined || other.dag === producer.dag) return;
  throw new DagctlError(
    'DATASET_PRODUCER_CONFLICT',
    `dataset ${target.dataset} (${target.uri}) is produced by DAG "${other.dag}" (run ${other.runId}); DAG "${producer.dag}" refuses to replace its version. ` +
      `Give this DAG its own URI, or take the dataset over explicitly: \`dagctl run … --take-over ${target.dataset}\` or \`takeOver: true\` on the dataset`,
    { dataset: target.dataset, uri: target.uri, producer: other, refused: producer },
  );
}

export function checkShrink(target: GuardTarget, current: CurrentView | null, newRows: number, maxShrink: number): void {
  const currentRows = current?.manifest.rows ?? 0;
  if (current === null || currentRows <= 0 || newRows >= currentRows) return;
  const dropped = (currentRows - newRows) / currentRows;
  if (dropped <= maxShrink) return;
  throw new DagctlError(
    'VIEW_SHRINK',
    `view ${target.dataset} (${target.uri}): the new version has ${newRows} rows, the current version ${current.pointer.version} has ${currentRows} ` +
      `(${(dropped * 100).toFixed(1)}% dropped, more than the allowed ${(maxShrink * 100).toFixed(1)}%); not published, the current version is unchanged. ` +
      `If this is intended, run again with --allow-shrink or set maxShrink on the dataset`,
    { dataset: target.dataset, uri: target.uri, currentVersion: current.pointer.version, currentRows, newRows, droppedShare: dropped, maxShrink },
  );
}
