/**
 * The part of the WebAssembly JS API that lib/wasm-components.ts and storage/parquet/page-kernel.ts
 * use. Node has the global at run time, but this project compiles with lib ES2023 and @types/node,
 * neither of which declares it (lib.dom would, with the whole DOM).
 */
declare namespace WebAssembly {
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Memory {
    readonly buffer: ArrayBuffer;
  }
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- an export is any function
  type ExportValue = Function | Memory | object;
  class Instance {
    constructor(module: Module, imports: Record<string, Record<string, unknown>>);
    readonly exports: Record<string, ExportValue>;
  }
}
