/**
 * Operator module source → ESM JavaScript that Node runs. TypeScript (.ts, .mts, .tsx) goes
 * through amaro (Node's own TypeScript transform: swc compiled to WebAssembly, no native binary,
 * no install script, no dependencies), which erases types and lowers enums and namespaces;
 * JavaScript passes unchanged. Import specifiers are found and rewritten with es-module-lexer
 * (a WebAssembly ES module lexer), so rewriting never touches strings or comments.
 *
 * Contract: `transpile` is pure; a syntax error throws (the caller names the module); only static
 * imports and dynamic imports of a string literal are specifiers (a computed `import(x)` is left as is).
 */
import { transformSync } from 'amaro';
import { initSync, parse } from 'es-module-lexer';
import path from 'node:path';

const TS = new Set(['.ts', '.mts', '.tsx', '.cts']);

export function transpile(source: string, file: string): string {
  if (!TS.has(path.extname(file))) return source;
  return transformSync(source, { mode: 'transform', filename: file, sourceMap: false, transform: { verbatimModuleSyntax: false, nativeClassProperties: true } }).code;
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
