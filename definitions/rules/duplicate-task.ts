/**
 * DUPLICATE_TASK: task names are the keys of instances, runs and dependsOn; they must be unique.
 * Reported at each later occurrence.
 */
import type { Rule } from './types.js';

export const uniqueTasks: Rule = {
  name: 'unique-tasks',
  check(draft, report) {
    const seen = new Map<string, number>();
    for (const t of draft.tasks) {
      const first = seen.get(t.decl.name);
      if (first === undefined) seen.set(t.decl.name, t.index);
      else report.add('DUPLICATE_TASK', ['tasks', t.index, 'name'], `task "${t.decl.name}" is already defined at tasks[${first}]`);
    }
  },
};
