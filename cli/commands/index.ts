/**
 * The list of CLI commands, in the order `dagctl --help` shows them.
 */
import type { CommandDef } from '../command.js';
import { validateCommand } from './validate.js';
import { schemaCommand } from './schema.js';
import { planCommand } from './plan.js';
import { costCommand } from './cost.js';
import { runCommand } from './run.js';
import { statusCommand } from './status.js';
import { runsCommand } from './runs.js';
import { cancelCommand } from './cancel.js';
import { retryCommand } from './retry.js';
import { workerCommand } from './worker.js';
import { genCommand } from './gen.js';
import { ingestCommand } from './ingest.js';
import { datasetCommand } from './dataset.js';
import { operatorsCommand } from './operators.js';
import { demoCommand } from './demo.js';
import { schedulerCommand } from './scheduler.js';
import { backfillCommand } from './backfill.js';
import { pauseCommand, schedulesCommand, unpauseCommand } from './schedules.js';

export const COMMANDS: CommandDef[] = [
  validateCommand,
  schemaCommand,
  planCommand,
  costCommand,
  runCommand,
  statusCommand,
  runsCommand,
  cancelCommand,
  retryCommand,
  workerCommand,
  genCommand,
  ingestCommand,
  datasetCommand,
  operatorsCommand,
  demoCommand,
  schedulerCommand,
  backfillCommand,
  schedulesCommand,
  pauseCommand,
  unpauseCommand,
];
