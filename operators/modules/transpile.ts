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
 * Contract: `transpile` is pure; a syntax error throws (the caller names the module); only static
 * imports and dynamic imports of a string literal are specifiers (a computed `import(x)` is left as is).
 */
import { initSync, parse } from 'es-module-lexer';
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as Ts from 'typescript';

let ts: typeof Ts | null = null;

const TS = new Set(['.ts', '.mts', '.tsx', '.cts']);

export function transpile(source: string, file: string): string {
  if (!TS.has(path.extname(file))) return source;
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
