import { parquetWriteBuffer } from 'hyparquet-writer';
const root = process.argv[2];
const { lateScanColumns } = await import(root + '/dist/operators/partial-recompute/late-scan.js');
const n = 400000;
const mk = (dict) => new Uint8Array(parquetWriteBuffer({ columnData: [
  { name: 'person', data: Array.from({ length: n }, (_, i) => `cookie:${(dict ? i % 5000 : i).toString(16)}-zoë`), type: 'STRING', nullable: false, encoding: dict ? 'RLE_DICTIONARY' : 'PLAIN' },
  { name: 'age', data: Int32Array.from({ length: n }, (_, i) => i % 100), type: 'INT32', nullable: false }], codec: 'SNAPPY', rowGroupSize: 100000 }));
const files = { plain: mk(false), dict: mk(true) };
const probe = (b, s, l) => b[s + l - 1] === 0x31 && b[s + l - 2] === 0x31;
for (const [k, bytes] of Object.entries(files)) {
  const t = [];
  for (let r = 0; r < 15; r++) { const t0 = performance.now(); let h = 0; for await (const x of lateScanColumns(bytes, { key: 'person', columns: ['age'], probe, probeString: () => false })) h += x.n; t.push(performance.now() - t0); }
  t.sort((a, b) => a - b); console.log(k, 'median ms', t[7].toFixed(2));
}
