/**
 * Validation issues: the stable codes every DAG-file problem is reported with, and the issue
 * record itself. One list, so `dagctl validate --json` consumers, tests and docs agree on codes.
 *
 * Issues are data, not exceptions: validation collects every issue of a file instead of stopping
 * at the first. Only `error` issues make a DAG invalid; `warning` issues are advice.
 */

export const ISSUE_CODES = [
  // layer 0: reading the file
  'FILE_READ_FAILED',
  'FILE_TOO_LARGE',
  'YAML_SYNTAX',
  'YAML_UNSAFE_TAG',
  'YAML_FORBIDDEN_KEY',
  // layer 1: structure (zod)
  'SCHEMA_INVALID',
  // params and interpolation
  'UNRESOLVED_PARAM',
  'UNKNOWN_PARAM_OVERRIDE',
  'PARAM_OVERRIDE_INVALID',
  // layer 2: semantic rules
  'INVALID_NAME',
  'DUPLICATE_TASK',
  'UNKNOWN_OPERATOR',
  'OPERATOR_PARAMS_INVALID',
  'OPERATOR_ARITY',
  'OPERATOR_MODULE_FAILED',
  'OPERATOR_INVALID',
  'OPERATOR_NAME_TAKEN',
  'UNKNOWN_DATASET',
  'UNKNOWN_TASK',
  'SELF_DEPENDENCY',
  'DATASET_PRODUCED_TWICE',
  'CYCLE',
  'BAD_DURATION',
  'BAD_URI',
  'DUPLICATE_REFERENCE',
  'DATASET_OVERLAP',
  // across the files of one `dagctl validate`
  'DATASET_PRODUCED_BY_TWO_DAGS',
  'INPUT_COLUMNS_MISSING',
  'BAD_CRON',
  'BAD_TIMEZONE',
  'BAD_SCHEDULE',
  'BAD_TRIGGER',
  'BAD_PARTITIONS',
  // warnings
  'UNUSED_DATASET',
  'VIEW_PRODUCED_BY_NONE',
  'RETENTION_WITHOUT_VIEW',
  'UNUSED_PARAM',
] as const;

export type IssueCode = (typeof ISSUE_CODES)[number];

export type Severity = 'error' | 'warning';

/** Codes reported as warnings; every other code is an error. */
const WARNING_CODES: ReadonlySet<IssueCode> = new Set<IssueCode>(['UNUSED_DATASET', 'VIEW_PRODUCED_BY_NONE', 'RETENTION_WITHOUT_VIEW', 'UNUSED_PARAM']);

export function severityOf(code: IssueCode): Severity {
  return WARNING_CODES.has(code) ? 'warning' : 'error';
}

export interface ValidationIssue {
  code: IssueCode;
  severity: Severity;
  message: string;
  file: string;
  /** 1-based; 0 when the issue has no place in the file (e.g. a --param override). */
  line: number;
  column: number;
  /** Where in the document, e.g. `tasks[2].params.granularities`; '' for the whole document. */
  path: string;
}

export function hasErrors(issues: readonly ValidationIssue[]): boolean {
  return issues.some((i) => i.severity === 'error');
}

/** Path segments (as zod and the YAML walker produce them) to `tasks[2].params.x` form. */
export function formatPath(segments: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of segments) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (typeof seg === 'string' && /^[A-Za-z_$][\w$-]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out;
}
