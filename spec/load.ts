/**
 * Loading DAG files from disk: reads the exact text (its sha256 becomes DagSpec.sourceHash), loads
 * the operator modules it declares (`operators:`) through its code bundle
 * (operators/modules/bundle.ts, load.ts) — the same code a worker will run — and validates it
 * (spec/validate.ts) with those operators. A file that cannot be read, and a module that cannot be
 * loaded, are issues (FILE_READ_FAILED, OPERATOR_MODULE_FAILED, OPERATOR_INVALID), not exceptions,
 * so `dagctl validate a.yaml b.yaml` reports every file.
 *
 * Precondition: `file` is a path, relative to the process's cwd or absolute.
 */
import { readFile } from 'node:fs/promises';
import { errorMessage } from '../core/errors.js';
import { severityOf } from './issues.js';
import type { ValidationIssue } from './issues.js';
import type { DagSpec } from './types.js';
import { moduleNames, validateDagText } from './validate.js';
import type { ModuleSet, ValidateOptions } from './validate.js';
import { readJsonSource } from './json-source.js';
import { readYamlSource } from './yaml-source.js';
import { buildBundle } from '../operators/modules/bundle.js';
import type { CodeBundle } from '../operators/modules/bundle.js';
import { loadBundle, markReady } from '../operators/modules/load.js';
import type { AnyOperator } from '../operators/types.js';

export { validateDagText } from './validate.js';
export type { ValidateOptions, ValidationResult } from './validate.js';

export interface LoadResult {
  dag?: DagSpec;
  issues: ValidationIssue[];
  /** The exact file text ('' when it could not be read). */
  text: string;
  /** The DAG and its operator modules, when it declares any: stored with a run. */
  bundle?: CodeBundle;
}

export async function loadDag(file: string, opts: ValidateOptions = {}): Promise<LoadResult> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const issue: ValidationIssue = { code: 'FILE_READ_FAILED', severity: severityOf('FILE_READ_FAILED'), message: errorMessage(e), file, line: 0, column: 0, path: '' };
    return { issues: [issue], text: '' };
  }
  const modules = await loadModules(file, text);
  if (modules === null) return { ...validateDagText(text, file, opts), text };
  const r = validateDagText(text, file, { ...opts, modules: modules.set });
  return { ...r, text, bundle: modules.bundle };
}

/** The declared operator modules, bundled and imported; null when the DAG declares none. */
async function loadModules(file: string, text: string): Promise<{ set: ModuleSet; bundle: CodeBundle } | null> {
  const raw = (readJsonSource(text) ?? readYamlSource(text)).value;
  const names = moduleNames(raw);
  if (names.size === 0) return null;
  const section = (raw as { operators: Record<string, unknown> }).operators;
  const declared: Record<string, string> = {};
  for (const n of names) if (typeof section[n] === 'string') declared[n] = section[n];
  const built = await buildBundle(file, text, declared);
  const set: ModuleSet = { refs: built.refs, operators: new Map(), failures: { ...built.failures } };
  const ok = new Map<string, AnyOperator>();
  for (const [name, l] of await loadBundle(built.bundle, built.refs)) {
    if (l.ok) ok.set(name, l.op);
    else set.failures[name] = { code: l.code === 'OPERATOR_INVALID' ? 'OPERATOR_INVALID' : 'OPERATOR_MODULE_FAILED', message: l.message };
  }
  set.operators = ok;
  markReady(built.bundle.hash, ok);
  return { set, bundle: built.bundle };
}
