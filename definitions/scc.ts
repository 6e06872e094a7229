/**
 * Strongly connected components (Tarjan), iterative so that long chains (10,000 tasks) cannot
 * overflow the call stack, plus a shortest cycle through a node of a component. Used by the CYCLE
 * rule to name each cycle as `a -> b -> a`.
 *
 * Precondition: `succ` lists successors by node index in [0, n).
 */

/** Components with a cycle: size > 1, or a single node with a self-loop. In discovery order. */
export function cyclicComponents(n: number, succ: readonly (readonly number[])[]): number[][] {
  const index = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const onStack = new Uint8Array(n);
  const stack: number[] = [];
  const out: number[][] = [];
  let next = 0;
  for (let root = 0; root < n; root++) {
    if (index[root] !== -1) continue;
    // Explicit DFS frames: [node, position in its successor list].
    const frames: [number, number][] = [[root, 0]];
    index[root] = low[root] = next++;
    stack.push(root);
    onStack[root] = 1;
    while (frames.length > 0) {
      const frame = frames[frames.length - 1] as [number, number];
      const [v, pos] = frame;
      const list = succ[v] ?? [];
      if (pos < list.length) {
        frame[1] = pos + 1;
        const w = list[pos] as number;
        if (index[w] === -1) {
          index[w] = low[w] = next++;
          stack.push(w);
          onStack[w] = 1;
          frames.push([w, 0]);
        } else if (onStack[w] === 1) low[v] = Math.min(low[v] as number, index[w] as number);
        continue;
      }
      frames.pop();
      const parent = frames[frames.length - 1];
      if (parent !== undefined) low[parent[0]] = Math.min(low[parent[0]] as number, low[v] as number);
      if (low[v] === index[v]) {
        const comp: number[] = [];
        let w: number;
        do {
          w = stack.pop() as number;
          onStack[w] = 0;
          comp.push(w);
        } while (w !== v);
        if (comp.length > 1 || list.includes(v)) out.push(comp.sort((a, b) => a - b));
      }
    }
  }
  return out;
}

/** Shortest cycle from `start` back to itself inside `members` (BFS), as node indexes `start … start`. */
export function cycleThrough(start: number, members: ReadonlySet<number>, succ: readonly (readonly number[])[]): number[] {
  const prev = new Map<number, number>();
  const queue = [start];
  for (let qi = 0; qi < queue.length; qi++) {
    const v = queue[qi] as number;
    for (const w of succ[v] ?? []) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path = [start];
        for (let x = v; x !== start; x = prev.get(x) as number) path.push(x);
        path.push(start);
        return [path[0] as number, ...path.slice(1, -1).reverse(), start];
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}
