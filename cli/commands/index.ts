/**
 * The CLI commands, in the order `dagctl --help` shows them: each name with a loader, so a command
 * loads only its own modules (a `dagctl status` never loads the AWS SDK, BullMQ or DuckDB). Keep
 * each loader a dynamic import of the command's file.
 */
import type { CommandDef } from '../command.js';

export type CommandLoader = () => Promise<CommandDef>;

export const COMMANDS: ReadonlyArray<readonly [name: string, load: CommandLoader]> = [
  ['validate', async () => (await import('./validate.js')).validateCommand],
  ['schema', async () => (await import('./schema.js')).schemaCommand],
  ['plan', async () => (await import('./plan.js')).planCommand],
  ['cost', async () => (await import('./cost.js')).costCommand],
  ['calibrate', async () => (await import('./calibrate.js')).calibrateCommand],
  ['run', async () => (await import('./run.js')).runCommand],
  ['status', async () => (await import('./status.js')).statusCommand],
  ['runs', async () => (await import('./runs.js')).runsCommand],
  ['cancel', async () => (await import('./cancel.js')).cancelCommand],
  ['retry', async () => (await import('./retry.js')).retryCommand],
  ['worker', async () => (await import('./worker.js')).workerCommand],
  ['workers', async () => (await import('./workers.js')).workersCommand],
  ['autoscale-metrics', async () => (await import('./autoscale-metrics.js')).autoscaleMetricsCommand],
  ['gen', async () => (await import('./gen.js')).genCommand],
  ['ingest', async () => (await import('./ingest.js')).ingestCommand],
  ['dataset', async () => (await import('./dataset.js')).datasetCommand],
  ['query', async () => (await import('./query.js')).queryCommand],
  ['serve', async () => (await import('./serve.js')).serveCommand],
  ['speed', async () => (await import('./speed.js')).speedCommand],
  ['operators', async () => (await import('./operators.js')).operatorsCommand],
  ['demo', async () => (await import('./demo.js')).demoCommand],
  ['ui', async () => (await import('./ui.js')).uiCommand],
  ['scheduler', async () => (await import('./scheduler.js')).schedulerCommand],
  ['backfill', async () => (await import('./backfill.js')).backfillCommand],
  ['schedules', async () => (await import('./schedules.js')).schedulesCommand],
  ['pause', async () => (await import('./schedules.js')).pauseCommand],
  ['unpause', async () => (await import('./schedules.js')).unpauseCommand],
  ['trigger-reset', async () => (await import('./schedules.js')).triggerResetCommand],
];

/** The command of that name, loaded; undefined if there is none. */
export async function loadCommand(name: string): Promise<CommandDef | undefined> {
  const entry = COMMANDS.find(([n]) => n === name);
  return entry === undefined ? undefined : entry[1]();
}

/** Every command, loaded (for `dagctl --help`). */
export function loadAllCommands(): Promise<CommandDef[]> {
  return Promise.all(COMMANDS.map(([, load]) => load()));
}
