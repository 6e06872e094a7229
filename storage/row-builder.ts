/**
 * Row objects from decoded columns, shared by the columnar decoders (storage/shuffle/format.ts,
 * storage/parquet/hyparquet.ts). Codecs decode a file column by column into arrays; operators
 * consume rows (`Record<string, Value>`). Transposing with `row[name] = value` in a loop over
 * columns makes every store a keyed, megamorphic one and gives rows a chain of shape transitions;
 * instead one function per (column names, column kinds) is generated that builds each row as a
 * single object literal — one shape, a monomorphic allocation site, no per-row loop over columns.
 *
 * A column is either 'values' (values[i] is row i's value: a typed array or an array) or 'dict'
 * (dict[idx[i]]: a string dictionary and one index per row). Names are embedded with
 * JSON.stringify (quoted property keys), so no column name can inject code; a `__proto__` column
 * (which a literal would turn into the prototype) gets a generic builder. Values are taken as
 * they are: callers convert (int64 → number, undefined → null) before building.
 */
import type { Row, Value } from './types.js';

export type ColumnData = { kind: 'dict'; dict: ArrayLike<Value>; idx: ArrayLike<number> } | { kind: 'values'; values: ArrayLike<Value> };

type Built = (cols: ReadonlyArray<ArrayLike<Value> | ArrayLike<number>>, start: number, end: number) => Row[];
const cache = new Map<string, Built>();

function builderFor(names: readonly string[], kinds: ReadonlyArray<ColumnData['kind']>): Built {
  // In an object literal a quoted "__proto__" key sets the prototype instead of a property, and
  // so would `row[name] =`; such a column (possible in a foreign Parquet file) takes the slow path.
  if (names.includes('__proto__')) return genericBuilder(names, kinds);
  const key = JSON.stringify([names, kinds]);
  let b = cache.get(key);
  if (b === undefined) {
    let a = 0;
    const props = names.map((nm, j) => {
      const expr = kinds[j] === 'dict' ? `c${a}[c${a + 1}[i]]` : `c${a}[i]`;
      a += kinds[j] === 'dict' ? 2 : 1;
      return `${JSON.stringify(nm)}: ${expr}`;
    });
    const binds = Array.from({ length: a }, (_, k) => `const c${k} = cols[${k}];`).join(' ');
    b = new Function('cols', 'start', 'end', `${binds} const out = new Array(end - start); for (let i = start; i < end; i++) out[i - start] = { ${props.join(', ')} }; return out;`) as Built;
    cache.set(key, b);
  }
  return b;
}

/** Any column names: each property defined as an own data property (no setters involved). */
function genericBuilder(names: readonly string[], kinds: ReadonlyArray<ColumnData['kind']>): Built {
  return (cols, start, end) => {
    const out: Row[] = new Array<Row>(end - start);
    for (let i = start; i < end; i++) {
      const row: Row = {};
      let a = 0;
      for (let j = 0; j < names.length; j++) {
        let v: Value;
        if (kinds[j] === 'dict') {
          v = (cols[a] as ArrayLike<Value>)[(cols[a + 1] as ArrayLike<number>)[i]!]!;
          a += 2;
        } else v = (cols[a++] as ArrayLike<Value>)[i]!;
        Object.defineProperty(row, names[j]!, { value: v, enumerable: true, writable: true, configurable: true });
      }
      out[i - start] = row;
    }
    return out;
  };
}

/** Builds rows [start, end) of the given columns (names[j] ← columns[j]). */
export class RowBuilder {
  private readonly build: Built;
  private readonly args: Array<ArrayLike<Value> | ArrayLike<number>> = [];
  constructor(names: readonly string[], columns: readonly ColumnData[]) {
    for (const c of columns) {
      if (c.kind === 'dict') this.args.push(c.dict, c.idx);
      else this.args.push(c.values);
    }
    this.build = builderFor(names, columns.map((c) => c.kind));
  }
  rows(start: number, end: number): Row[] {
    return this.build(this.args, start, end);
  }
}
