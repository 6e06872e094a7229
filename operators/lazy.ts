/**
 * A built-in operator from its light descriptor (operators/<name>/descriptor.ts: params, cost,
 * arity, stages) and a loader of its implementation module: the implementation, with its Parquet,
 * WebAssembly and sketch helpers, is imported on the first `run` only (once per process or worker
 * thread), so validating or planning a DAG loads no operator code. The descriptor is the single
 * source of the metadata: the implementation spreads it into its own definition.
 */
import type { OperatorDef, OperatorDescriptor, StageContext, StageResult } from './types.js';

export function lazyOperator<P>(descriptor: OperatorDescriptor<P>, load: () => Promise<OperatorDef<P>>): OperatorDef<P> {
  let impl: Promise<OperatorDef<P>> | undefined;
  return {
    ...descriptor,
    run(ctx: StageContext<P>): Promise<StageResult> {
      impl ??= load().catch((e: unknown) => {
        impl = undefined; // a failed import is retried by the next attempt
        throw e;
      });
      return impl.then((op) => op.run(ctx));
    },
  };
}
