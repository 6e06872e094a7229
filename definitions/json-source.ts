/**
 * Fast path for DAG files written as JSON (typically generated ones, which are the large ones):
 * JSON.parse instead of the YAML parser, which is ~50× slower on 10,000-task files. Behaviour is
 * the same as definitions/yaml-source.ts: duplicate keys are YAML_SYNTAX (JSON.parse would silently keep
 * the last one), prototype-reaching keys are YAML_FORBIDDEN_KEY. Positions are found lazily: the
 * text is parsed as YAML (JSON is YAML) only when some issue needs a line and column.
 *
 * Precondition: none. Returns undefined when the text is not a JSON object, so the caller falls
 * back to the YAML path (which also reports JSON syntax errors with positions).
 */
import { formatPath } from './issues.js';
import type { RawIssue, SourcePos, YamlSource } from './yaml-source.js';
import { readYamlSource } from './yaml-source.js';

const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

export function readJsonSource(text: string): YamlSource | undefined {
  if (!text.trimStart().startsWith('{')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  let yaml: YamlSource | undefined;
  const locate = (segments: readonly PropertyKey[], opts?: { key?: boolean }): SourcePos => (yaml ??= readYamlSource(text)).locate(segments, opts);

  const issues: RawIssue[] = [];
  const dup = firstDuplicateKey(text);
  if (dup !== undefined) {
    // Let the YAML parser report it, with its position and message.
    yaml ??= readYamlSource(text);
    issues.push(...(yaml.issues.length > 0 ? yaml.issues : [{ code: 'YAML_SYNTAX' as const, message: `duplicate key "${dup}"`, pos: { line: 1, column: 1 }, path: '' }]));
    return { issues, locate };
  }
  forEachKey(value, [], (key, segs) => {
    if (FORBIDDEN_KEYS.has(key)) issues.push({ code: 'YAML_FORBIDDEN_KEY', message: `key "${key}" is not allowed`, pos: locate([...segs, key], { key: true }), path: formatPath([...segs, key]) });
  });
  return issues.length > 0 ? { issues, locate } : { value, issues, locate };
}

function forEachKey(value: unknown, segs: PropertyKey[], visit: (key: string, segs: PropertyKey[]) => void): void {
  if (Array.isArray(value)) value.forEach((v, i) => forEachKey(v, [...segs, i], visit));
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      visit(k, segs);
      forEachKey(v, [...segs, k], visit);
    }
  }
}

/**
 * First key that appears twice in one object of syntactically valid JSON, or undefined. A linear
 * scan: a stack of key sets (null for arrays), and whether the next string in an object is a key.
 */
function firstDuplicateKey(text: string): string | undefined {
  const stack: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let j = i + 1;
      let escaped = false;
      while (j < text.length && text.charCodeAt(j) !== 0x22) {
        if (text.charCodeAt(j) === 0x5c /* \ */) {
          escaped = true;
          j += 2; // skip the escaped character, which may be a quote
        } else j++;
      }
      const top = stack[stack.length - 1];
      if (expectKey && top) {
        const raw = text.slice(i, j + 1);
        const key = escaped ? (JSON.parse(raw) as string) : raw.slice(1, -1);
        if (top.has(key)) return key;
        top.add(key);
        expectKey = false;
      }
      i = j;
    } else if (c === 0x7b /* { */) {
      stack.push(new Set());
      expectKey = true;
    } else if (c === 0x5b /* [ */) {
      stack.push(null);
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      expectKey = stack[stack.length - 1] instanceof Set;
    }
  }
  return undefined;
}
