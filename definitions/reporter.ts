/**
 * Collects validation issues for one file, placing each at the line:column of the node its path
 * names (or the nearest existing parent). Rules report through this, so they deal in document
 * paths only and never in source positions.
 *
 * Precondition: `locate` belongs to the text being validated (see definitions/yaml-source.ts).
 */
import { formatPath, severityOf } from './issues.js';
import type { IssueCode, ValidationIssue } from './issues.js';
import type { SourcePos } from './yaml-source.js';

export type Locate = (segments: readonly PropertyKey[], opts?: { key?: boolean }) => SourcePos;

export class IssueReporter {
  readonly issues: ValidationIssue[] = [];

  constructor(
    readonly file: string,
    private readonly locate: Locate,
  ) {}

  /** Reports `code` at the node `segments` (its key with `onKey`: for issues about a key). */
  add(code: IssueCode, segments: readonly PropertyKey[], message: string, opts: { onKey?: boolean } = {}): void {
    const pos = this.locate(segments, { key: opts.onKey === true });
    this.addAt(code, pos, formatPath(segments), message);
  }

  /** Reports with an explicit position (YAML errors, --param overrides with line 0). */
  addAt(code: IssueCode, pos: SourcePos, path: string, message: string): void {
    this.issues.push({ code, severity: severityOf(code), message, file: this.file, line: pos.line, column: pos.column, path });
  }

  errorCount(): number {
    return this.issues.filter((i) => i.severity === 'error').length;
  }
}
