/**
 * Operator module source → ESM JavaScript that Node runs. TypeScript (.ts, .mts, .tsx) goes through
 * the TypeScript compiler's own transpileModule (per file, no type check): exact TypeScript
 * semantics (enums, namespaces, parameter properties), pure JavaScript with no dependencies and no
 * install script, runs on every Node dagctl supports (amaro, Node's swc-in-wasm stripper, declares
 * Node ≥ 22; sucrase brings a dozen packages). It is loaded on first use only, so DAGs without
 * TypeScript modules never pay for it. JavaScript passes unchanged. Import specifiers are found and
 * rewritten with es-module-lexer (a WebAssembly ES module lexer), so rewriting never touches
 * strings or comments.
 *
 * Transpiled output is cached on disk under `<bundle cache>/ts/<key>.js`, the key a sha256 of the
 * TypeScript version, the options and the source: loading the compiler costs ~1–2 s, so a cache hit
 * (a second `dagctl run` of the same code, another worker thread or process of this machine, a
 * restarted worker) never loads it. Entries are written to a temporary file and renamed into place;
 * an unreadable or unwritable cache only costs a transpile.
 *
 * Contract: `transpile` is deterministic (same source and TypeScript version → same output); a
 * syntax error throws (the caller names the module) and is never cached; only static imports and
 * dynamic imports of a string literal are specifiers (a computed `import(x)` is left as is).
 */
import { initSync, parse } from 'es-module-lexer';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type * as Ts from 'typescript';

let ts: typeof Ts | null = null;
let tsVersion: string | null = null;

const TS = new Set(['.ts', '.mts', '.tsx', '.cts']);
/** Bumped when the options below change, so old cache entries are never read. */
const OPTIONS_ID = 'esnext-es2022-isolated-1';

/** Where code bundles (operators/modules/load.ts) and transpiled sources are cached on this machine. */
export function bundleCacheDir(): string {
  return process.env.DAGCTL_BUNDLE_CACHE ?? path.join(tmpdir(), 'dagctl-bundles');
}

function cacheKey(source: string, ext: string): string {
  if (tsVersion === null) {
    const require = createRequire(import.meta.url);
    tsVersion = (JSON.parse(readFileSync(require.resolve('typescript/package.json'), 'utf8')) as { version: string }).version;
  }
  return createHash('sha256').update(`${tsVersion}\0${OPTIONS_ID}\0${ext}\0`).update(source).digest('hex');
}

export function transpile(source: string, file: string): string {
  const ext = path.extname(file);
  if (!TS.has(ext)) return source;
  const dir = path.join(bundleCacheDir(), 'ts');
  const cached = path.join(dir, `${cacheKey(source, ext)}.js`);
  try {
    return readFileSync(cached, 'utf8');
  } catch {
    // not cached yet
  }
  const js = compile(source, file);
  try {
    mkdirSync(dir, { recursive: true });
    const tmp = `${cached}.${process.pid}.${randomBytes(4).toString('hex')}`;
    writeFileSync(tmp, js);
    try {
      renameSync(tmp, cached);
    } catch {
      rmSync(tmp, { force: true });
    }
  } catch {
    // a read-only or full cache: the next load transpiles again
  }
  return js;
}

function compile(source: string, file: string): string {
  ts ??= createRequire(import.meta.url)('typescript') as typeof Ts;
  const out = ts.transpileModule(source, {
    fileName: file,
    reportDiagnostics: true,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, sourceMap: false, verbatimModuleSyntax: false, isolatedModules: true },
  });
  const err = out.diagnostics?.find((d) => d.category === ts!.DiagnosticCategory.Error);
  if (err !== undefined) {
    const at = err.file !== undefined && err.start !== undefined ? err.file.getLineAndCharacterOfPosition(err.start) : null;
    throw new SyntaxError(`${file}${at === null ? '' : `:${at.line + 1}:${at.character + 1}`}: ${ts.flattenDiagnosticMessageText(err.messageText, '\n')}`);
  }
  return out.outputText;
}

interface Found {
  spec: string;
  start: number;
  end: number;
  /** The range includes the quotes (dynamic import of a string literal). */
  quoted: boolean;
}

function found(js: string): Found[] {
  initSync();
  const [imports] = parse(js);
  const out: Found[] = [];
  for (const i of imports) {
    if (i.n === undefined || i.d === -2) continue; // import.meta, or a computed dynamic import
    out.push({ spec: i.n, start: i.s, end: i.e, quoted: i.d > -1 });
  }
  return out;
}

/** The import specifiers of a module's source (TypeScript or JavaScript), in source order. */
export function importSpecifiers(source: string, file: string): string[] {
  return found(transpile(source, file)).map((f) => f.spec);
}

/** JavaScript with each import specifier replaced by `map(spec)` (unchanged where it returns the same). */
export function rewriteImports(js: string, map: (spec: string) => string): string {
  let out = '';
  let at = 0;
  for (const f of found(js)) {
    const next = map(f.spec);
    if (next === f.spec) continue;
    out += js.slice(at, f.start) + (f.quoted ? JSON.stringify(next) : next);
    at = f.end;
  }
  return out + js.slice(at);
}
