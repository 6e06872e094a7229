/**
 * DagCatalog: the scheduled DAGs of `dagctl scheduler FILE...|DIR`, reloaded from disk. refresh()
 * reads every named file (a directory: its *.yaml, *.yml, *.json), and for each file whose text
 * changed validates it first: a valid file with a `schedule` replaces the DAG's version; an
 * invalid edit keeps the last good version and logs why (each issue with file:line); a valid file
 * with neither a schedule nor data triggers is not scheduled. A removed file unschedules its DAG; a second file naming
 * an already scheduled DAG is refused (logged).
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256Hex } from '../../core/hash.js';
import { formatIssue } from '../../definitions/format-issues.js';
import { validateDagText } from '../../definitions/validate.js';
import type { ScheduledDag } from './service.js';

interface FileEntry {
  hash: string;
  /** Last good version (absent: never valid or not scheduled). */
  good?: ScheduledDag;
}

export class DagCatalog {
  private readonly files = new Map<string, FileEntry>();
  reloads = 0;
  errors = 0;

  constructor(
    private readonly paths: readonly string[],
    private readonly log: (line: string) => void = () => {},
    /** Where "loaded …" lines go (default: log); problems always go to log. */
    private readonly info: (line: string) => void = log,
  ) {}

  dags(): ScheduledDag[] {
    const byName = new Map<string, ScheduledDag>();
    for (const f of [...this.files.keys()].sort()) {
      const g = this.files.get(f)?.good;
      if (g !== undefined && !byName.has(g.name)) byName.set(g.name, g);
    }
    return [...byName.values()];
  }

  /** Re-reads the files; true when the set of scheduled DAG versions changed. */
  async refresh(): Promise<boolean> {
    const seen = new Set<string>();
    let changed = false;
    for (const file of await this.expand()) {
      seen.add(file);
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (e) {
        this.log(`scheduler: cannot read ${file}: ${String(e)} (keeping the last good version)`);
        continue;
      }
      const hash = sha256Hex(text);
      const prev = this.files.get(file);
      if (prev?.hash === hash) continue;
      const v = validateDagText(text, file);
      const errs = v.issues.filter((i) => i.severity === 'error');
      if (v.dag === undefined || errs.length > 0) {
        this.errors++;
        this.log(`scheduler: ${file} is not valid, ${prev?.good !== undefined ? 'keeping the last good version' : 'not scheduled'}:\n${errs.map((i) => '  ' + formatIssue(i)).join('\n')}`);
        this.files.set(file, prev?.good === undefined ? { hash } : { hash, good: prev.good });
        continue;
      }
      const clash = this.dags().find((d) => d.name === v.dag?.name && d.file !== file);
      if (clash !== undefined) {
        this.errors++;
        this.log(`scheduler: ${file} names DAG ${v.dag.name}, already scheduled from ${clash.file}: ignored`);
        this.files.set(file, { hash });
        continue;
      }
      if (v.dag.schedule === undefined && (v.dag.triggers ?? []).length === 0) {
        if (prev?.good !== undefined) this.log(`scheduler: ${file} no longer has a schedule or triggers: ${prev.good.name} unscheduled`);
        this.files.set(file, { hash });
        changed = changed || prev?.good !== undefined;
        continue;
      }
      if (prev !== undefined) this.reloads++;
      const sch = v.dag.schedule;
      const what = [
        ...(sch === undefined ? [] : [`${sch.cron !== undefined ? `cron "${sch.cron}" ${sch.timezone}` : `every ${sch.everyMs} ms`}, catchup ${sch.catchup}, overlap ${sch.overlap}`]),
        ...(v.dag.triggers ?? []).map((t) => `on new data in ${t.dataset} (minInterval ${t.minIntervalMs} ms, debounce ${t.debounceMs} ms)`),
      ];
      this.info(`scheduler: ${prev === undefined ? 'loaded' : 'reloaded'} ${v.dag.name} from ${file} (${what.join('; ')})`);
      this.files.set(file, { hash, good: { name: v.dag.name, file, text, dag: v.dag, ...(sch !== undefined ? { schedule: sch } : {}) } });
      changed = true;
    }
    for (const f of [...this.files.keys()]) {
      if (seen.has(f)) continue;
      const g = this.files.get(f)?.good;
      if (g !== undefined) this.log(`scheduler: ${f} removed: ${g.name} unscheduled`);
      this.files.delete(f);
      changed = true;
    }
    return changed;
  }

  private async expand(): Promise<string[]> {
    const out: string[] = [];
    for (const p of this.paths) {
      let isDir = false;
      try {
        isDir = (await stat(p)).isDirectory();
      } catch {
        out.push(p); // reported by the read
        continue;
      }
      if (!isDir) {
        out.push(p);
        continue;
      }
      for (const name of (await readdir(p)).sort()) if (/\.(ya?ml|json)$/.test(name)) out.push(join(p, name));
    }
    return out;
  }
}
