/**
 * Codec registry. `defaultCodec()` is what dagctl writes and reads with unless told otherwise:
 * flat (dagctl's own flat-schema writer, storage/parquet/flat, Snappy + statistics; read by
 * hyparquet), chosen by measurement (bench/parquet.ts, docs/storage.md): 2.5× the write speed of
 * hyparquet-writer, which stays available as the `hyparquet` codecs.
 * DAGCTL_PARQUET_CODEC=<name> overrides it process-wide.
 *
 * `decodeWithFallback` reads a file with the given codec and, if that codec refuses it
 * (PARQUET_INVALID before the first batch), retries with hyparquet: with
 * DAGCTL_PARQUET_CODEC=parquetjs-lite, files of other writers (which parquetjs-lite refuses, see
 * parquetjs.ts) are still read correctly. hyparquet has no fallback: parquetjs-lite reads nothing
 * hyparquet cannot. Errors after rows were yielded are never retried (no duplicated rows).
 * `readSchemaOf` falls back the same way (a dataset's schema check reads the schema before the rows).
 * Files starting with the DGSH magic (stage outputs, storage/shuffle) are decoded as shuffle files
 * by `decodeWithFallback` and `readSchemaOf`, whatever codec is given.
 */
import { DagctlError, isDagctlError } from '../../core/errors.js';
import type { ParquetCodec, Row, Schema } from '../types.js';
import { SHUFFLE_CODEC } from '../shuffle/codec.js';
import { isShuffleFile, shuffleRowCount } from '../shuffle/format.js';
import { parquetMetadata } from 'hyparquet';
import { createHyparquetCodec } from './hyparquet.js';
import { createParquetjsCodec } from './parquetjs.js';

export const CODEC_NAMES = ['flat', 'flat-uncompressed', 'hyparquet', 'hyparquet-uncompressed', 'parquetjs-lite'] as const;
export type CodecName = (typeof CODEC_NAMES)[number];
export const DEFAULT_CODEC: CodecName = 'flat';

const cache = new Map<string, ParquetCodec>();

export function getCodec(name: string): ParquetCodec {
  const hit = cache.get(name);
  if (hit !== undefined) return hit;
  let codec: ParquetCodec;
  switch (name) {
    case 'flat':
      codec = createHyparquetCodec({ compression: 'SNAPPY', name, writer: 'flat' });
      break;
    case 'flat-uncompressed':
      codec = createHyparquetCodec({ compression: 'UNCOMPRESSED', name, writer: 'flat' });
      break;
    case 'hyparquet':
      codec = createHyparquetCodec({ compression: 'SNAPPY' });
      break;
    case 'hyparquet-uncompressed':
      codec = createHyparquetCodec({ compression: 'UNCOMPRESSED', name });
      break;
    case 'parquetjs-lite':
      codec = createParquetjsCodec({ compression: 'SNAPPY' });
      break;
    default:
      throw new DagctlError('PARAM_INVALID', `unknown parquet codec "${name}" (known: ${CODEC_NAMES.join(', ')})`, { codec: name });
  }
  cache.set(name, codec);
  return codec;
}

/** The process default: DAGCTL_PARQUET_CODEC when set, else flat. */
export function defaultCodec(env: NodeJS.ProcessEnv = process.env): ParquetCodec {
  const name = env.DAGCTL_PARQUET_CODEC;
  return getCodec(name !== undefined && name !== '' ? name : DEFAULT_CODEC);
}

/**
 * The schema of a data file: DGSH shuffle files by their header, others by `codec` — or, when it
 * refuses the file (PARQUET_INVALID), by its fallback, as decodeWithFallback reads the rows.
 */
export async function readSchemaOf(codec: ParquetCodec, bytes: Uint8Array): Promise<Schema> {
  if (isShuffleFile(bytes)) return SHUFFLE_CODEC.readSchema(bytes);
  try {
    return await codec.readSchema(bytes);
  } catch (e) {
    const fallback = fallbackCodec(codec);
    if (fallback === null || !isDagctlError(e, 'PARQUET_INVALID')) throw e;
    return fallback.readSchema(bytes);
  }
}

/**
 * Rows in a data file, from its header (DGSH) or footer (Parquet) alone — for counting the rows of
 * files an operator reads raw (InputHandle.rawFiles); 0 when the file is neither.
 */
export function fileRowCount(bytes: Uint8Array): number {
  try {
    return isShuffleFile(bytes) ? shuffleRowCount(bytes) : Number(parquetMetadata(bytes).num_rows);
  } catch {
    return 0;
  }
}

/** The codec to retry with when `codec` refuses a file, or null. */
export function fallbackCodec(codec: ParquetCodec): ParquetCodec | null {
  return codec.name === 'parquetjs-lite' ? getCodec('hyparquet') : null;
}

export async function* decodeWithFallback(codec: ParquetCodec, bytes: Uint8Array, opts: { columns?: string[]; batchSize?: number; invalidUtf8?: 'error' | 'mark' } = {}): AsyncIterable<Row[]> {
  // Stage outputs (shuffle files) are DGSH, whatever codec the reader was given.
  if (isShuffleFile(bytes)) {
    yield* SHUFFLE_CODEC.decode(bytes, opts);
    return;
  }
  let yielded = false;
  try {
    for await (const batch of codec.decode(bytes, opts)) {
      yielded = true;
      yield batch;
    }
  } catch (e) {
    const fallback = fallbackCodec(codec);
    if (yielded || fallback === null || !isDagctlError(e, 'PARQUET_INVALID')) throw e;
    yield* fallback.decode(bytes, opts);
  }
}
