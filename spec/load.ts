/**
 * Loading DAG files from disk: reads the exact text (its sha256 becomes DagSpec.sourceHash) and
 * validates it (spec/validate.ts), resolving symlinks of local dataset paths for the overlap rule. A file that cannot be read is an issue (FILE_READ_FAILED), not
 * an exception, so `dagctl validate a.yaml b.yaml` reports every file.
 *
 * Precondition: `file` is a path, relative to the process's cwd or absolute.
 */
import { readFile } from 'node:fs/promises';
import { errorMessage } from '../core/errors.js';
import { realpathExisting } from '../storage/local/realpath.js';
import { severityOf } from './issues.js';
import type { ValidationIssue } from './issues.js';
import type { DagSpec } from './types.js';
import { validateDagText } from './validate.js';
import type { ValidateOptions } from './validate.js';

export { validateDagText } from './validate.js';
export type { ValidateOptions, ValidationResult } from './validate.js';

export interface LoadResult {
  dag?: DagSpec;
  issues: ValidationIssue[];
  /** The exact file text ('' when it could not be read). */
  text: string;
}

export async function loadDag(file: string, opts: ValidateOptions = {}): Promise<LoadResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const issue: ValidationIssue = { code: 'FILE_READ_FAILED', severity: severityOf('FILE_READ_FAILED'), message: errorMessage(e), file, line: 0, column: 0, path: '' };
    return { issues: [issue], text: '' };
  }
  return { ...validateDagText(text, file, { realpath: realpathExisting, ...opts }), text };
}
