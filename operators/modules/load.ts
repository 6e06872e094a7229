/**
 * Loading a run's operator modules from its code bundle (operators/modules/bundle.ts), by hash.
 *
 * A bundle is written once per machine under the bundle cache (`$DAGCTL_BUNDLE_CACHE`, default
 * `<tmpdir>/dagctl-bundles`) as `<hash>/<path>.mjs` — TypeScript transpiled, local imports pointing
 * at their bundled twins, `dagctl` and `dagctl/testing` at this installation's SDK, other bare
 * specifiers resolved from this installation (packages installed next to dagctl) — written to a
 * temporary folder and renamed into place, so a reader never sees half a bundle. Each hash is its
 * own folder, so two versions of an operator never share module state; within a process (and each
 * worker thread) a bundle is imported once and its operators kept by hash.
 *
 * Contract: `loadBundle` verifies the bundle against its hash (BUNDLE_INVALID) and never throws for
 * one bad module: each declared operator is either loaded or a failure with a coded message
 * (OPERATOR_MODULE_FAILED: the import threw; OPERATOR_INVALID: no operator is its default export).
 * `bundleOperator` is the synchronous lookup the planner, validator and task runner use once
 * the bundle is loaded.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { DagctlError, errorMessage, isDagctlError } from '../../core/errors.js';
import type { ErrorCode } from '../../core/errors.js';
import { isDefinedOperator } from '../../sdk/index.js';
import type { AnyOperator } from '../types.js';
import { isLocalSpecifier, verifyBundle } from './bundle.js';
import type { CodeBundle, ModuleOperatorRef } from './bundle.js';
import { bundleCacheDir, rewriteImports, transpile } from './transpile.js';

export type LoadedOperator = { ok: true; op: AnyOperator } | { ok: false; code: ErrorCode; message: string };

const SDK: Record<string, string> = {
  dagctl: new URL('../../sdk/index.js', import.meta.url).href,
  'dagctl/testing': new URL('../../sdk/testing.js', import.meta.url).href,
};
const BUILTIN = new Set(builtinModules);
const CODE = /\.(ts|mts|tsx|js|mjs)$/;

export { bundleCacheDir };

/** How a bare specifier of a bundled file is written: the SDK, a builtin, or resolved from here. */
function bareTarget(spec: string): string {
  const sdk = SDK[spec];
  if (sdk !== undefined) return sdk;
  if (spec.startsWith('node:') || BUILTIN.has(spec)) return spec;
  try {
    return import.meta.resolve(spec);
  } catch {
    return spec; // the import then fails, naming the package
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/** Writes the bundle's runnable twin once; returns its folder. */
async function materialize(bundle: CodeBundle): Promise<string> {
  const root = bundleCacheDir();
  const dir = path.join(root, bundle.hash);
  if (await exists(dir)) return dir;
  const tmp = path.join(root, `.${bundle.hash}.${process.pid}.${randomBytes(4).toString('hex')}`);
  await mkdir(tmp, { recursive: true });
  for (const [rel, source] of Object.entries(bundle.files)) {
    if (!CODE.test(rel)) continue; // the DAG file
    const out = path.join(tmp, rel + '.mjs');
    await mkdir(path.dirname(out), { recursive: true });
    let js: string;
    try {
      js = rewriteImports(transpile(source, rel), (spec) => {
        if (!isLocalSpecifier(spec)) return bareTarget(spec);
        const target = localTarget(bundle, rel, spec);
        if (target === null) return spec;
        const r = path.posix.relative(path.posix.dirname(rel), target) + '.mjs';
        return r.startsWith('.') ? r : `./${r}`;
      });
    } catch (e) {
      // A syntax error: importing the module reports it, naming the file.
      js = `throw new SyntaxError(${JSON.stringify(`${rel}: ${errorMessage(e)}`)});\n`;
    }
    await writeFile(out, js);
  }
  try {
    await rename(tmp, dir);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    if (!(await exists(dir))) throw new DagctlError('BUNDLE_INVALID', `cannot place code bundle ${bundle.hash.slice(0, 12)} in ${root}: ${errorMessage(e)}`);
  }
  return dir;
}

const RESOLVE_EXT = ['', '.ts', '.mts', '.js', '.mjs', '/index.ts', '/index.js'];
const TS_FOR_JS: Record<string, string[]> = { '.js': ['.ts', '.tsx'], '.mjs': ['.mts'], '.cjs': ['.cts'] };

/** The bundle path a local specifier of `from` names (the same rules as bundle.ts resolveLocal). */
function localTarget(bundle: CodeBundle, from: string, spec: string): string | null {
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));
  const ext = path.posix.extname(base);
  const tries = [base, ...(TS_FOR_JS[ext] ?? []).map((alt) => base.slice(0, -ext.length) + alt), ...RESOLVE_EXT.slice(1).map((e) => base + e)];
  return tries.find((t) => Object.hasOwn(bundle.files, t)) ?? null;
}

const loaded = new Map<string, Promise<Map<string, LoadedOperator>>>();

/**
 * The bundle's operators by name, importing them once per process. `refs` are the DAG's module
 * operators (DagSpec.modules); the registered name is the DAG's name for each.
 */
export function loadBundle(bundle: CodeBundle, refs: Record<string, ModuleOperatorRef>): Promise<Map<string, LoadedOperator>> {
  let p = loaded.get(bundle.hash);
  if (p === undefined) {
    p = (async () => {
      verifyBundle(bundle);
      const dir = await materialize(bundle);
      const out = new Map<string, LoadedOperator>();
      for (const [name, ref] of Object.entries(refs)) out.set(name, await importOperator(dir, name, ref));
      return out;
    })();
    loaded.set(bundle.hash, p);
    p.catch(() => loaded.delete(bundle.hash));
  }
  return p;
}

async function importOperator(dir: string, name: string, ref: ModuleOperatorRef): Promise<LoadedOperator> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(path.join(dir, ref.entry + '.mjs')).href)) as Record<string, unknown>;
  } catch (e) {
    const code: ErrorCode = isDagctlError(e, 'OPERATOR_INVALID') ? 'OPERATOR_INVALID' : 'OPERATOR_MODULE_FAILED';
    return { ok: false, code, message: `operator module ${ref.module}: import failed: ${errorMessage(e)}` };
  }
  const def = mod.default;
  if (!isDefinedOperator(def)) {
    const seen = Object.keys(mod).length === 0 ? 'it exports nothing' : `it exports ${Object.keys(mod).join(', ')}`;
    return { ok: false, code: 'OPERATOR_INVALID', message: `operator module ${ref.module}: its default export is not an operator made with defineOperator (${seen})` };
  }
  const op: AnyOperator = { ...(def as AnyOperator), name };
  return { ok: true, op };
}

/** A loaded module operator of a bundle, or undefined when the bundle is not loaded here. */
export async function bundleOperators(bundle: CodeBundle, refs: Record<string, ModuleOperatorRef>): Promise<Map<string, AnyOperator>> {
  const all = await loadBundle(bundle, refs);
  const out = new Map<string, AnyOperator>();
  for (const [name, l] of all) {
    if (!l.ok) throw new DagctlError(l.code, `${l.message}${refs[name]?.at === undefined ? '' : ` (declared at ${refs[name]?.at})`}`, { operator: name, module: refs[name]?.module });
    out.set(name, l.op);
  }
  return out;
}

const ready = new Map<string, Map<string, AnyOperator>>();

/** Loads the bundle's operators (throwing the first failure) so bundleOperator can find them. */
export async function ensureBundle(bundle: CodeBundle, refs: Record<string, ModuleOperatorRef>): Promise<void> {
  if (ready.has(bundle.hash)) return;
  ready.set(bundle.hash, await bundleOperators(bundle, refs));
}

/** Whether this process (thread) has the bundle's operators loaded. */
export function bundleLoaded(hash: string): boolean {
  return ready.has(hash);
}

/** Records operators loaded by validation (their failures were reported as issues). */
export function markReady(hash: string, ops: Map<string, AnyOperator>): void {
  ready.set(hash, ops);
}

/** The module operator `name` of a loaded bundle (BUNDLE_NOT_FOUND when it is not loaded here). */
export function bundleOperator(ref: ModuleOperatorRef, name: string): AnyOperator {
  const op = ready.get(ref.bundle)?.get(name);
  if (op === undefined) throw new DagctlError('BUNDLE_NOT_FOUND', `operator ${name} (${ref.module}): code bundle ${ref.bundle.slice(0, 12)} is not loaded in this process`, { operator: name, bundle: ref.bundle });
  return op;
}
