/**
 * realpathExisting: an absolute path with the symlinks of its longest existing ancestor resolved
 * (fs.realpathSync), the part that does not exist yet appended unchanged — so a dataset folder
 * that is a symlink to another dataset, or lies below one, is seen where it really is, before it
 * exists. Synchronous: it runs a handful of stat calls once per dataset at validation time and
 * once per instance in the task runner. Errors other than "does not exist" keep the path as given.
 *
 * Precondition: `absPath` is absolute and normalized (no '.', '..' or duplicate slashes).
 */
import { realpathSync } from 'node:fs';
import path from 'node:path';

export function realpathExisting(absPath: string): string {
  const rest: string[] = [];
  let p = absPath;
  for (;;) {
    try {
      const real = realpathSync.native(p);
      return rest.length === 0 ? real : path.join(real, ...rest.reverse());
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') return absPath;
      const parent = path.dirname(p);
      if (parent === p) return absPath;
      rest.push(path.basename(p));
      p = parent;
    }
  }
}
