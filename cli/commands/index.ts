/**
 * The list of CLI commands, in the order `dagctl --help` shows them.
 */
import type { CommandDef } from '../command.js';
import { validateCommand } from './validate.js';
import { schemaCommand } from './schema.js';
import { planCommand } from './plan.js';
import { costCommand } from './cost.js';
import { calibrateCommand } from './calibrate.js';
import { runCommand } from './run.js';
import { statusCommand } from './status.js';
import { runsCommand } from './runs.js';
import { cancelCommand } from './cancel.js';
import { retryCommand } from './retry.js';
import { workerCommand } from './worker.js';
import { workersCommand } from './workers.js';
import { autoscaleMetricsCommand } from './autoscale-metrics.js';
import { genCommand } from './gen.js';
import { ingestCommand } from './ingest.js';
import { datasetCommand } from './dataset.js';
import { operatorsCommand } from './operators.js';
import { demoCommand } from './demo.js';
import { queryCommand } from './query.js';
import { serveCommand } from './serve.js';
import { speedCommand } from './speed.js';
import { uiCommand } from './ui.js';
import { schedulerCommand } from './scheduler.js';
import { backfillCommand } from './backfill.js';
import { pauseCommand, schedulesCommand, unpauseCommand } from './schedules.js';

export const COMMANDS: CommandDef[] = [
  validateCommand,
  schemaCommand,
  planCommand,
  costCommand,
  calibrateCommand,
  runCommand,
  statusCommand,
  runsCommand,
  cancelCommand,
  retryCommand,
  workerCommand,
  workersCommand,
  autoscaleMetricsCommand,
  genCommand,
  ingestCommand,
  datasetCommand,
  queryCommand,
  serveCommand,
  speedCommand,
  operatorsCommand,
  demoCommand,
  uiCommand,
  schedulerCommand,
  backfillCommand,
  schedulesCommand,
  pauseCommand,
  unpauseCommand,
];
