/**
 * The process exec starts in place of the program: it runs the program (argv after its own) in
 * its process group — it is that group's leader, started detached by exec — passing stdout,
 * stderr and the exit status through, and kills the whole group (SIGKILL) when its stdin, a pipe
 * from the worker, closes: so a worker that dies, even by SIGKILL, leaves no program running.
 */
import { spawn } from 'node:child_process';

const [program, ...argv] = process.argv.slice(2);
if (program === undefined) {
  process.stderr.write('exec-watchdog: no program\n');
  process.exit(2);
}
const killGroup = (): void => {
  try {
    process.kill(-process.pid, 'SIGKILL');
  } catch {
    process.exit(137);
  }
};
const child = spawn(program, argv, { stdio: ['ignore', 'inherit', 'inherit'] });
child.once('error', (e) => {
  process.stderr.write(`exec: cannot start ${program}: ${e.message}\n`);
  process.exit(127);
});
child.once('exit', (code, signal) => process.exit(code ?? 128 + (signal === 'SIGKILL' ? 9 : 15)));
process.stdin.on('end', killGroup);
process.stdin.on('error', killGroup);
process.stdin.resume();
