/**
 * Operator lookup for validation tests: the real registry plus `test-io`, a stand-in that reads
 * 1–4 datasets and writes up to 2 (noop writes none, so data edges, double producers and data
 * cycles need it). Passed as `operators` to validateDagText instead of registering it, so other
 * tests never see it in the registry.
 */
import { z } from 'zod';
import { getOperator } from '../../../operators/registry.js';
import type { AnyOperator } from '../../../operators/types.js';

const testIo: AnyOperator = {
  name: 'test-io',
  version: '1',
  summary: 'test stand-in with inputs and outputs',
  params: z.object({ factor: z.number().default(1) }).strict(),
  cost: { overheadMs: 100, perUnitMs: 10, driver: 'bytes' },
  inputs: { min: 1, max: 4 },
  outputs: { min: 0, max: 2 },
  stages: () => [{ name: 'main', fanout: 'single', writesOutputs: true }],
  run: async () => ({ metrics: {} }),
};

export function testOperators(name: string): AnyOperator | undefined {
  return name === testIo.name ? testIo : getOperator(name);
}
