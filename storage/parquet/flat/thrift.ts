/**
 * Thrift compact-protocol writer: just what Parquet's footer and page headers need (i32, i64,
 * binary, bool, struct, list). Precondition: within one struct, fields are written in increasing
 * id order (that is how the short field-delta header is used; larger gaps take the long form).
 * Integers are JS numbers, zigzag-encoded exactly while |v| < 2^52 (offsets, counts and sizes).
 */
import type { ByteSink } from './sink.js';

export const T_BOOL_TRUE = 1;
export const T_BOOL_FALSE = 2;
export const T_I32 = 5;
export const T_I64 = 6;
export const T_BINARY = 8;
export const T_LIST = 9;
export const T_STRUCT = 12;

const zigzag = (v: number): number => (v >= 0 ? v * 2 : -v * 2 - 1);

export class CompactWriter {
  private lastId = 0;
  private readonly stack: number[] = [];

  constructor(readonly out: ByteSink) {}

  private field(id: number, type: number): void {
    const d = id - this.lastId;
    if (d > 0 && d <= 15) this.out.u8((d << 4) | type);
    else {
      this.out.u8(type);
      this.out.varint(zigzag(id));
    }
    this.lastId = id;
  }

  i32(id: number, v: number): void {
    this.field(id, T_I32);
    this.out.varint(zigzag(v));
  }

  i64(id: number, v: number): void {
    this.field(id, T_I64);
    this.out.varint(zigzag(v));
  }

  bool(id: number, v: boolean): void {
    this.field(id, v ? T_BOOL_TRUE : T_BOOL_FALSE);
  }

  binary(id: number, b: Uint8Array): void {
    this.field(id, T_BINARY);
    this.out.varint(b.length);
    this.out.bytes(b);
  }

  string(id: number, s: string): void {
    this.binary(id, Buffer.from(s, 'utf8'));
  }

  /** Opens a struct-typed field; close it with `end()`. */
  struct(id: number): void {
    this.field(id, T_STRUCT);
    this.begin();
  }

  /** Opens a struct without a field header (a list element or the top-level message). */
  begin(): void {
    this.stack.push(this.lastId);
    this.lastId = 0;
  }

  end(): void {
    this.out.u8(0);
    this.lastId = this.stack.pop() ?? 0;
  }

  /** A list field header; the caller then writes `size` elements of `elemType`. */
  list(id: number, elemType: number, size: number): void {
    this.field(id, T_LIST);
    if (size < 15) this.out.u8((size << 4) | elemType);
    else {
      this.out.u8(0xf0 | elemType);
      this.out.varint(size);
    }
  }

  /** A list element of type i32. */
  elemI32(v: number): void {
    this.out.varint(zigzag(v));
  }

  /** A list element of type binary (strings: UTF-8). */
  elemString(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.out.varint(b.length);
    this.out.bytes(b);
  }
}
