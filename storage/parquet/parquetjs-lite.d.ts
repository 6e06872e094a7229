/**
 * Minimal type declarations for the parts of parquetjs-lite (untyped CommonJS) that
 * storage/parquet/parquetjs.ts uses. Only this file's declarations are trusted by tsc; keep them in
 * sync with node_modules/parquetjs-lite/lib/{schema,writer,reader}.js.
 */
declare module 'parquetjs-lite' {
  export interface ParquetFieldOptions {
    type: string;
    optional?: boolean;
    compression?: string;
    encoding?: string;
  }
  export interface ParquetField {
    name: string;
    primitiveType?: string;
    originalType?: string;
    repetitionType: string;
    isNested?: boolean;
  }
  export class ParquetSchema {
    constructor(fields: Record<string, ParquetFieldOptions>);
    fields: Record<string, ParquetField>;
  }
  export class ParquetWriter {
    static openStream(schema: ParquetSchema, stream: NodeJS.WritableStream, opts?: { rowGroupSize?: number; pageSize?: number; useDataPageV2?: boolean }): Promise<ParquetWriter>;
    appendRow(row: Record<string, unknown>): Promise<void>;
    close(): Promise<void>;
  }
  export interface ParquetCursor {
    nextRowGroup(): Promise<Record<string, unknown>[] | null>;
  }
  export class ParquetEnvelopeReader {
    static openBuffer(buffer: Buffer, opts?: Record<string, unknown>): Promise<ParquetEnvelopeReader>;
    readHeader(): Promise<void>;
    readFooter(): Promise<{ version: number; created_by?: string }>;
    close(): Promise<void>;
  }
  export class ParquetReader {
    constructor(metadata: { version: number }, envelope: ParquetEnvelopeReader, opts?: Record<string, unknown>);
    static openBuffer(buffer: Buffer, opts?: Record<string, unknown>): Promise<ParquetReader>;
    getCursor(columns?: string[]): ParquetCursor;
    getRowCount(): number | bigint | { toNumber(): number };
    getSchema(): ParquetSchema;
    close(): Promise<void>;
  }
}
