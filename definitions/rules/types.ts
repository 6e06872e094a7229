/**
 * The shape of a semantic rule: a named, pure check over the draft that reports issues. Rules do
 * not depend on each other's results, so each can be read and tested alone.
 */
import type { IssueReporter } from '../reporter.js';
import type { DagDraft } from '../structure.js';

export interface Rule {
  /** Kebab-case name, for docs and debugging. */
  name: string;
  check(draft: DagDraft, report: IssueReporter): void;
}
