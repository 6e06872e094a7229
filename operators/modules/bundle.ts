/**
 * Code bundles: the DAG file and the operator modules it declares (`operators: { name: ./ops/x.ts }`)
 * with every local file they import, as one content-addressed value stored with the run. Workers
 * load a run's operators from its bundle by hash (operators/modules/load.ts), never from their own
 * disk, so a worker started before the code existed runs it and a resumed run runs the code it
 * was submitted with.
 *
 * Contract:
 *  - `files` maps a bundle path (POSIX, relative to the common folder of the DAG file and every
 *    module file) to the file's source text; `hash` = sha256 of the canonical JSON of the files.
 *  - each operator's `codeHash` covers its module and the local files it imports, transitively
 *    (paths relative to the module's folder): it enters each of its instances' fingerprints, so an
 *    edit recomputes exactly that operator's instances (and, through their outputs, dependents).
 *  - local imports are specifiers starting with `./`, `../` or `/`, resolved as TypeScript does
 *    under NodeNext (`./x.js` may name `./x.ts`) plus extensionless and `index` forms; `dagctl`,
 *    `node:` and other bare specifiers are not bundled (operators/modules/load.ts resolves them
 *    from the worker's dagctl installation).
 *  - a module given as a package specifier is resolved from the DAG file's folder (require.resolve)
 *    and bundled like a local file.
 * Failures are per operator (OPERATOR_MODULE_FAILED with the module path), so validation reports
 * each at its `operators.NAME` line.
 */
import { readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { DagctlError, errorMessage } from '../../core/errors.js';
import { fingerprint } from '../../core/hash.js';
import { importSpecifiers } from './transpile.js';

export interface CodeBundle {
  hash: string;
  /** Bundle path → source text. */
  files: Record<string, string>;
}

/** An operator a DAG declares as a module: how the run finds and identifies its code. */
export interface ModuleOperatorRef {
  /** The module as the DAG file declares it (`./ops/bot-filter.ts`, `@acme/ops/bot-filter`). */
  module: string;
  /** Its path inside the bundle. */
  entry: string;
  /** sha256 over the module and its local imports (part of every instance fingerprint). */
  codeHash: string;
  /** The bundle's hash. */
  bundle: string;
  /** `file:line` of its `operators:` entry in the DAG file (filled in by validation). */
  at?: string;
}

export interface BundleFailure {
  code: 'OPERATOR_MODULE_FAILED';
  message: string;
}

export interface BuiltBundle {
  bundle: CodeBundle;
  refs: Record<string, ModuleOperatorRef>;
  failures: Record<string, BundleFailure>;
}

const TS_FOR_JS: Record<string, string[]> = { '.js': ['.ts', '.tsx'], '.mjs': ['.mts'], '.cjs': ['.cts'] };
const TRY_EXT = ['.ts', '.mts', '.js', '.mjs'];

export function isLocalSpecifier(spec: string): boolean {
  return spec.startsWith('./') || spec.startsWith('../') || spec.startsWith('/');
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

/** The file a local specifier names, or null. */
export async function resolveLocal(fromFile: string, spec: string): Promise<string | null> {
  const base = path.resolve(path.dirname(fromFile), spec);
  if (await isFile(base)) return base;
  const ext = path.extname(base);
  for (const alt of TS_FOR_JS[ext] ?? []) if (await isFile(base.slice(0, -ext.length) + alt)) return base.slice(0, -ext.length) + alt;
  for (const e of TRY_EXT) if (await isFile(base + e)) return base + e;
  for (const e of TRY_EXT) if (await isFile(path.join(base, 'index' + e))) return path.join(base, 'index' + e);
  return null;
}

/** The module file a DAG's `operators:` value names (relative to the DAG file, or a package). */
async function resolveModule(dagFile: string, spec: string): Promise<string> {
  if (isLocalSpecifier(spec)) {
    const f = await resolveLocal(dagFile, spec);
    if (f === null) throw new DagctlError('OPERATOR_MODULE_FAILED', `operator module ${spec}: no such file (relative to ${path.dirname(dagFile)})`, { module: spec });
    return f;
  }
  try {
    return createRequire(dagFile).resolve(spec);
  } catch (e) {
    throw new DagctlError('OPERATOR_MODULE_FAILED', `operator module ${spec}: cannot resolve the package from ${path.dirname(dagFile)}: ${errorMessage(e)}`, { module: spec });
  }
}

/** The module and every local file it imports, transitively: absolute path → source. */
async function closure(entry: string, moduleSpec: string): Promise<Map<string, string>> {
  const seen = new Map<string, string>();
  const todo = [entry];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      throw new DagctlError('OPERATOR_MODULE_FAILED', `operator module ${moduleSpec}: cannot read ${file}: ${errorMessage(e)}`, { module: moduleSpec, file });
    }
    seen.set(file, text);
    let specs: string[];
    try {
      specs = importSpecifiers(text, file);
    } catch (e) {
      throw new DagctlError('OPERATOR_MODULE_FAILED', `operator module ${moduleSpec}: ${file} does not parse: ${errorMessage(e)}`, { module: moduleSpec, file });
    }
    for (const spec of specs) {
      if (!isLocalSpecifier(spec)) continue;
      const dep = await resolveLocal(file, spec);
      if (dep === null) throw new DagctlError('OPERATOR_MODULE_FAILED', `operator module ${moduleSpec}: ${file} imports ${spec}, which does not exist`, { module: moduleSpec, file, import: spec });
      todo.push(dep);
    }
  }
  return seen;
}

function commonDir(files: string[]): string {
  let dir = path.dirname(files[0]!);
  for (const f of files) while (path.relative(dir, f).startsWith('..')) dir = path.dirname(dir);
  return dir;
}

const posix = (p: string): string => p.split(path.sep).join('/');

/**
 * Builds the bundle of a DAG file (its text) and the modules it declares. Modules that cannot be
 * read or resolved are failures (the others are still bundled).
 */
export async function buildBundle(dagFile: string, dagText: string, declared: Record<string, string>): Promise<BuiltBundle> {
  const abs = path.resolve(dagFile);
  const failures: Record<string, BundleFailure> = {};
  const found: Array<{ name: string; spec: string; entry: string; files: Map<string, string> }> = [];
  for (const [name, spec] of Object.entries(declared)) {
    try {
      const entry = await resolveModule(abs, spec);
      found.push({ name, spec, entry, files: await closure(entry, spec) });
    } catch (e) {
      failures[name] = { code: 'OPERATOR_MODULE_FAILED', message: errorMessage(e) };
    }
  }
  const all = new Map<string, string>([[abs, dagText]]);
  for (const f of found) for (const [p, t] of f.files) all.set(p, t);
  const root = commonDir([...all.keys()]);
  const files: Record<string, string> = {};
  for (const [p, t] of [...all.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) files[posix(path.relative(root, p))] = t;
  const hash = bundleHashOf(files);
  const refs: Record<string, ModuleOperatorRef> = {};
  for (const f of found) {
    const dir = path.dirname(f.entry);
    const code: Record<string, string> = {};
    for (const [p, t] of f.files) code[posix(path.relative(dir, p))] = t;
    refs[f.name] = { module: f.spec, entry: posix(path.relative(root, f.entry)), codeHash: fingerprint({ code }), bundle: hash };
  }
  return { bundle: { hash, files }, refs, failures };
}

/** A bundle's content hash: the one formula its builder, its verifier and the bundle store use. */
export function bundleHashOf(files: Record<string, string>): string {
  return fingerprint({ bundle: 1, files });
}

/** Checks a stored bundle against its hash (BUNDLE_INVALID when it was altered or truncated). */
export function verifyBundle(bundle: CodeBundle): void {
  const h = bundleHashOf(bundle.files);
  if (h !== bundle.hash) throw new DagctlError('BUNDLE_INVALID', `code bundle ${bundle.hash.slice(0, 12)} does not match its content (got ${h.slice(0, 12)})`, { bundle: bundle.hash });
}
