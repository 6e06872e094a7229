/**
 * Loading DAG files from disk: reads the exact text (its sha256 becomes DagSpec.sourceHash), loads
 * the operator modules it declares (`operators:`) through its code bundle
 * (operators/modules/bundle.ts, load.ts) — the same code a worker will run — and validates it
 * (definitions/validate.ts) with those operators, resolving symlinks of local dataset paths for the
 * overlap rule. A file that cannot be read, and a module that cannot be loaded, are issues
 * (FILE_READ_FAILED, OPERATOR_MODULE_FAILED, OPERATOR_INVALID), not exceptions, so
 * `dagctl validate a.yaml b.yaml` reports every file.
 *
 * Bounded input: a file larger than `maxBytes` (default DEFAULT_MAX_DAG_BYTES; the CLI takes
 * --max-dag-bytes / DAGCTL_MAX_DAG_BYTES) is FILE_TOO_LARGE without being read. A file above
 * INLINE_BYTES is parsed in a worker thread, so the caller's event loop stays free: `signal`
 * (SIGINT/SIGTERM in the CLI) terminates the parse at once and loadDag throws INTERRUPTED.
 * (A DAG that declares operator modules validates on the calling thread: its operators are
 * functions a worker thread cannot receive.)
 *
 * Precondition: `file` is a path, relative to the process's cwd or absolute.
 */
import { open } from 'node:fs/promises';
import { startThread } from '../workers/threads/pool.js';
import { DagctlError, errorMessage } from '../core/errors.js';
import { realpathExisting } from '../storage/local/realpath.js';
import { severityOf } from './issues.js';
import type { IssueCode, ValidationIssue } from './issues.js';
import type { DagSpec } from './types.js';
import { moduleNames, validateDagText } from './validate.js';
import type { ModuleSet, ValidateOptions, ValidationResult } from './validate.js';
import { readJsonSource } from './json-source.js';
import { readYamlSource } from './yaml-source.js';
import { buildBundle } from '../operators/modules/bundle.js';
import type { CodeBundle } from '../operators/modules/bundle.js';
import { loadBundle, markReady } from '../operators/modules/load.js';
import type { AnyOperator } from '../operators/types.js';

export { validateDagText } from './validate.js';
export type { ValidateOptions, ValidationResult } from './validate.js';

import { DEFAULT_MAX_DAG_BYTES } from './limits.js';
export { DEFAULT_MAX_DAG_BYTES };
/** Files up to this size are validated on the calling thread (a worker's start costs ~30 ms). */
const INLINE_BYTES = 256 * 1024;

export interface LoadOptions extends ValidateOptions {
  /** Largest DAG file accepted, in bytes. */
  maxBytes?: number;
  /** Aborting it stops a parse in progress (loadDag then throws INTERRUPTED). */
  signal?: AbortSignal;
  /** Called when a large file's parse starts on its worker thread (progress for long work). */
  onLargeFile?: (bytes: number) => void;
}

export interface LoadResult {
  dag?: DagSpec;
  issues: ValidationIssue[];
  /** The exact file text ('' when it could not be read). */
  text: string;
  /** The DAG and its operator modules, when it declares any: stored with a run. */
  bundle?: CodeBundle;
}

function fileIssue(code: IssueCode, file: string, message: string): LoadResult {
  return { issues: [{ code, severity: severityOf(code), message, file, line: 0, column: 0, path: '' }], text: '' };
}

/** Reads the DAG file's text, or returns the FILE_TOO_LARGE / FILE_READ_FAILED issue. */
async function readBounded(file: string, maxBytes: number): Promise<string | LoadResult> {
  const tooLarge = (n: string): LoadResult => fileIssue('FILE_TOO_LARGE', file, `the DAG file is ${n} bytes, over the ${maxBytes}-byte cap (raise it with --max-dag-bytes or DAGCTL_MAX_DAG_BYTES)`);
  try {
    const fh = await open(file, 'r');
    try {
      const st = await fh.stat();
      if (st.size > maxBytes) return tooLarge(String(st.size));
      // Read at most maxBytes + 1: a file that grows, or a pipe, cannot get past the cap either.
      const buf = Buffer.alloc(Math.min(maxBytes + 1, Math.max(st.size + 1, 64 * 1024)));
      let n = 0;
      let grown = buf;
      for (;;) {
        if (n === grown.length) {
          if (grown.length > maxBytes) return tooLarge(`more than ${maxBytes}`);
          const next = Buffer.alloc(Math.min(maxBytes + 1, grown.length * 2));
          grown.copy(next);
          grown = next;
        }
        const { bytesRead } = await fh.read(grown, n, grown.length - n, null);
        if (bytesRead === 0) break;
        n += bytesRead;
      }
      if (n > maxBytes) return tooLarge(`more than ${maxBytes}`);
      return grown.subarray(0, n).toString('utf8');
    } finally {
      await fh.close();
    }
  } catch (e) {
    return fileIssue('FILE_READ_FAILED', file, errorMessage(e));
  }
}

export async function loadDag(file: string, opts: LoadOptions = {}): Promise<LoadResult> {
  const { maxBytes = DEFAULT_MAX_DAG_BYTES, signal, onLargeFile, ...validate } = opts;
  const text = await readBounded(file, maxBytes);
  if (typeof text !== 'string') return text;
  if (signal?.aborted === true) throw interrupted(file);
  const modules = await loadModules(file, text);
  if (modules !== null) {
    const r = validateDagText(text, file, { realpath: realpathExisting, ...validate, modules: modules.set });
    return { ...r, text, bundle: modules.bundle };
  }
  // Stand-in operators (tests) are functions a worker cannot receive: those validate inline.
  if (text.length <= INLINE_BYTES || validate.operators !== undefined) return { ...validateDagText(text, file, { realpath: realpathExisting, ...validate }), text };
  const data: WorkerInput = { text, file };
  if (validate.paramOverrides !== undefined) data.paramOverrides = { ...validate.paramOverrides };
  if (validate.baseDir !== undefined) data.baseDir = validate.baseDir;
  const pending = validateInWorker(data, signal);
  onLargeFile?.(Buffer.byteLength(text));
  return { ...(await pending), text };
}

export interface WorkerInput {
  text: string;
  file: string;
  paramOverrides?: Record<string, string>;
  baseDir?: string;
}

function interrupted(file: string): DagctlError {
  return new DagctlError('INTERRUPTED', `interrupted while validating ${file}`, { file });
}

function validateInWorker(data: WorkerInput, signal: AbortSignal | undefined): Promise<ValidationResult> {
  return new Promise((resolve, reject) => {
    const worker = startThread(new URL('./validate-worker.js', import.meta.url), null, { workerData: data });
    const onAbort = (): void => {
      reject(interrupted(data.file));
      void worker.terminate();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = (): void => signal?.removeEventListener('abort', onAbort);
    worker.once('message', (r: ValidationResult) => {
      done();
      // Resolved once the thread is gone: no validation thread outlives loadDag.
      worker.removeAllListeners('exit');
      worker.once('exit', () => resolve(r));
      void worker.terminate();
    });
    worker.once('error', (e) => {
      done();
      reject(e);
    });
    worker.once('exit', (code) => {
      done();
      reject(new DagctlError('INTERNAL', `DAG validation thread exited with code ${code}`));
    });
  });
}

/** The declared operator modules, bundled and imported; null when the DAG declares none. */
export async function loadModules(file: string, text: string): Promise<{ set: ModuleSet; bundle: CodeBundle } | null> {
  // No `operators` key anywhere: skip the parse (a large file's parse belongs on its worker thread).
  if (!text.includes('operators')) return null;
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
