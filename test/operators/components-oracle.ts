/**
 * The connected-components oracle of the components tests (equiv-components, the JS kernels, the
 * WebAssembly kernel): a plain string union-find, independent of operators/lib, mapping every id
 * of an edge (self-loops included) to its component's smallest id in JS string order.
 */
export function componentMinsOracle(edges: Array<[string, string]>): Map<string, string> {
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    while (parent.get(x) !== x) x = parent.get(x)!;
    return x;
  };
  for (const [a, b] of edges) {
    if (!parent.has(a)) parent.set(a, a);
    if (!parent.has(b)) parent.set(b, b);
    const ra = find(a), rb = find(b);
    // Keep the smaller id as the root so the root is the component minimum.
    if (ra !== rb) { if (ra < rb) parent.set(rb, ra); else parent.set(ra, rb); }
  }
  return new Map([...parent.keys()].map((x) => [x, find(x)]));
}
