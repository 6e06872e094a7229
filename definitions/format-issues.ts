/**
 * Human form of validation issues, one per line, compiler-style so editors can jump to them:
 *   file:line:col: error CODE path: message
 *
 * Precondition: none.
 */
import type { ValidationIssue } from './issues.js';

export function formatIssue(i: ValidationIssue): string {
  const where = i.line > 0 ? `${i.file}:${i.line}:${i.column}` : i.file;
  const path = i.path === '' ? '' : ` ${i.path}`;
  return `${where}: ${i.severity} ${i.code}${path}: ${i.message}`;
}

/** The JSON form of one issue, as `dagctl validate --json` prints it. */
export function issueJson(i: ValidationIssue): Record<string, string | number> {
  return { code: i.code, severity: i.severity, message: i.message, file: i.file, line: i.line, column: i.column, path: i.path };
}
