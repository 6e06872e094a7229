/**
 * SHUFFLE_CODEC: the DGSH shuffle format (format.ts) behind the ParquetCodec interface, so the
 * storage writers (DataFileWriter, BucketedWriter) write shuffle files exactly as they write
 * Parquet — same create-only, content-hashed names (with the `.dgsh` extension), same FileEntry
 * rows/bytes/sha256 in commit markers, so memoization, fingerprints and vacuum are unchanged.
 * Used for stage outputs only (workers/runner/handles.ts ShuffleBinding); datasets and views stay
 * Parquet. Readers do not need to know which codec wrote a file: storage/parquet/registry.ts
 * dispatches on the magic bytes (isShuffleFile).
 */
import type { ParquetCodec, Row } from '../types.js';
import { decodeShuffle, encodeShuffle, readShuffleSchema, shuffleRowCount } from './format.js';

export const SHUFFLE_CODEC: ParquetCodec = {
  name: 'dagctl-shuffle',
  extension: 'dgsh',
  async encode(schema, rows) {
    return encodeShuffle(schema, rows);
  },
  async *decode(bytes, opts = {}): AsyncIterable<Row[]> {
    yield* decodeShuffle(bytes, opts.columns, opts.batchSize);
  },
  async readSchema(bytes) {
    return readShuffleSchema(bytes);
  },
  async rowCount(bytes) {
    return shuffleRowCount(bytes);
  },
};
