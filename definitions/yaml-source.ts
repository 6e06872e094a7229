/**
 * Safe reading of a DAG file's text (YAML 1.2, or JSON, which is YAML) into plain data, keeping a
 * map from document paths back to line:column.
 *
 * Safety: the `core` schema only, with no custom tags and no known-but-exotic ones (!!binary,
 * !!set, !!timestamp…): any explicit tag outside str/int/float/bool/null/map/seq is reported
 * (YAML_UNSAFE_TAG), and keys that could reach object prototypes (`__proto__`, `constructor`,
 * `prototype`) are reported anywhere (YAML_FORBIDDEN_KEY). When the text has syntax errors or
 * unsafe content, no value is produced: the content is not trusted further.
 *
 * Speed: plain data (no tag, anchor or alias character anywhere in the text) is read by js-yaml
 * (core schema, duplicate keys refused), ~4× faster than the `yaml` library's document model and
 * linear in the text; the document model with its positions is built only when an issue needs a
 * position (`locate`), or when the fast read refuses the text (syntax errors, tags, anchors,
 * forbidden keys), so every issue keeps its line:column.
 *
 * Precondition: none; any string is accepted.
 */
import { createRequire } from 'node:module';
import { CORE_SCHEMA, load } from 'js-yaml';
import type * as Yaml from 'yaml';
import type { Document, Node } from 'yaml';
import { formatPath } from './issues.js';

export interface SourcePos {
  line: number;
  column: number;
}

export interface RawIssue {
  code: 'YAML_SYNTAX' | 'YAML_UNSAFE_TAG' | 'YAML_FORBIDDEN_KEY';
  message: string;
  pos: SourcePos;
  path: string;
}

export interface YamlSource {
  /** The document as plain data; undefined when `issues` is not empty. */
  value?: unknown;
  issues: RawIssue[];
  /**
   * Position of the node at `segments`, or of its nearest existing ancestor. With `key`, the
   * position of the map key naming the last segment (for issues about the key itself).
   */
  locate(segments: readonly PropertyKey[], opts?: { key?: boolean }): SourcePos;
}

const SAFE_TAGS: ReadonlySet<string> = new Set(
  ['str', 'int', 'float', 'bool', 'null', 'map', 'seq'].map((t) => `tag:yaml.org,2002:${t}`),
);
const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);
/** Bounds alias expansion ("billion laughs"); yaml's own default, made explicit. */
const MAX_ALIAS_COUNT = 100;

export function readYamlSource(text: string): YamlSource {
  return readPlainYaml(text) ?? readYamlDocument(text);
}

/** Characters that may start a tag, an anchor or an alias: such texts take the full reader. */
const NOT_PLAIN = /[!&*]/;

/** The fast read of plain data; null when the full reader must decide (and report). */
function readPlainYaml(text: string): YamlSource | null {
  if (NOT_PLAIN.test(text)) return null;
  let value: unknown;
  try {
    value = load(text, { schema: CORE_SCHEMA });
  } catch {
    return null;
  }
  if (value === undefined || hasForbiddenKey(value)) return null;
  let full: YamlSource | null = null;
  return { value, issues: [], locate: (segments, opts) => (full ??= readYamlDocument(text)).locate(segments, opts) };
}

function hasForbiddenKey(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(hasForbiddenKey);
  if (v === null || typeof v !== 'object') return false;
  for (const k of Object.keys(v)) if (FORBIDDEN_KEYS.has(k) || hasForbiddenKey((v as Record<string, unknown>)[k])) return true;
  return false;
}

// The `yaml` library (CommonJS, many modules: its load costs more CPU than validating a small DAG)
// is required on first use: a plain file that validates cleanly never loads it.
let yamlLib: typeof Yaml | null = null;
const yaml = (): typeof Yaml => (yamlLib ??= createRequire(import.meta.url)('yaml') as typeof Yaml);

/** The `yaml` library's document model: positions, tag and key checks, syntax errors with codes. */
export function readYamlDocument(text: string): YamlSource {
  const { LineCounter, parseDocument } = yaml();
  const lineCounter = new LineCounter();
  // resolveKnownTags: false keeps !!binary/!!timestamp… unresolved, so the tag check sees them.
  const doc = parseDocument(text, { schema: 'core', keepSourceTokens: true, lineCounter, uniqueKeys: true, merge: false, resolveKnownTags: false, prettyErrors: false });
  const posOf = (offset: number): SourcePos => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, column: p.col };
  };
  const locate = (segments: readonly PropertyKey[], opts: { key?: boolean } = {}): SourcePos =>
    posOf(offsetAt(doc, segments, opts.key === true));

  const issues: RawIssue[] = doc.errors.map((e) => ({
    code: 'YAML_SYNTAX' as const,
    message: `${e.code}: ${firstLine(e.message)}`,
    pos: posOf(e.pos[0]),
    path: '',
  }));
  if (issues.length > 0) return { issues, locate };

  walk(doc, doc.contents, [], (node, segs) => {
    const tag = node.tag;
    if (tag !== undefined && !SAFE_TAGS.has(tag)) {
      issues.push({ code: 'YAML_UNSAFE_TAG', message: `tag ${tag} is not allowed (only plain YAML/JSON data)`, pos: posOf(startOf(node)), path: formatPath(segs) });
    }
  }, (keyNode, key, segs) => {
    if (FORBIDDEN_KEYS.has(key)) {
      issues.push({ code: 'YAML_FORBIDDEN_KEY', message: `key "${key}" is not allowed`, pos: posOf(startOf(keyNode)), path: formatPath([...segs, key]) });
    }
  });
  if (issues.length > 0) return { issues, locate };

  try {
    return { value: doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) as unknown, issues, locate };
  } catch (e) {
    // Excessive alias expansion and similar resource limits end up here.
    issues.push({ code: 'YAML_SYNTAX', message: e instanceof Error ? e.message : String(e), pos: { line: 1, column: 1 }, path: '' });
    return { issues, locate };
  }
}

function firstLine(s: string): string {
  return s.split('\n')[0] ?? s;
}

function startOf(node: Node): number {
  return node.range?.[0] ?? 0;
}

/** Depth-first over the AST (aliases are not followed: their anchors are visited where defined). */
function walk(
  doc: Document,
  node: unknown,
  segs: PropertyKey[],
  onNode: (node: Node, segs: PropertyKey[]) => void,
  onKey: (keyNode: Node, key: string, segs: PropertyKey[]) => void,
): void {
  if (yaml().isScalar(node)) onNode(node, segs);
  else if (yaml().isMap(node)) {
    onNode(node, segs);
    for (const pair of node.items) {
      const keyNode = pair.key;
      const key = yaml().isScalar(keyNode) ? String(keyNode.value) : '';
      if (yaml().isScalar(keyNode)) {
        onNode(keyNode, segs);
        onKey(keyNode, key, segs);
      } else walk(doc, keyNode, segs, onNode, onKey);
      walk(doc, pair.value, [...segs, key], onNode, onKey);
    }
  } else if (yaml().isSeq(node)) {
    onNode(node, segs);
    node.items.forEach((item, i) => walk(doc, item, [...segs, i], onNode, onKey));
  }
}

/** Source offset of the node at `segments`, falling back to the nearest existing ancestor. */
function offsetAt(doc: Document, segments: readonly PropertyKey[], wantKey: boolean): number {
  let node: unknown = doc.contents;
  let best = isNodeLike(node) ? startOf(node) : 0;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i];
    if (yaml().isAlias(node)) node = node.resolve(doc);
    if (yaml().isMap(node)) {
      const pair = node.items.find((p) => yaml().isPair(p) && yaml().isScalar(p.key) && String(p.key.value) === String(seg));
      if (pair === undefined) return best;
      const keyStart = isNodeLike(pair.key) ? startOf(pair.key) : best;
      if (wantKey && i === segments.length - 1) return keyStart;
      // A null value (`x:`) has no node of its own: the key is the place.
      best = isNodeLike(pair.value) && pair.value.range !== undefined && !(yaml().isScalar(pair.value) && pair.value.value === null) ? startOf(pair.value) : keyStart;
      node = pair.value;
    } else if (yaml().isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg];
      if (!isNodeLike(item)) return best;
      best = startOf(item);
      node = item;
    } else return best;
  }
  return best;
}

function isNodeLike(x: unknown): x is Node {
  return yaml().isScalar(x) || yaml().isMap(x) || yaml().isSeq(x) || yaml().isAlias(x);
}
