/**
 * Worker-thread entry of definitions/load.ts for large DAG files: validates the text it is given
 * (definitions/validate.ts, operators from the registry, symlinks resolved on disk) and posts the
 * ValidationResult back — plain data. The parent terminates it on SIGINT/SIGTERM.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { realpathExisting } from '../storage/local/realpath.js';
import type { WorkerInput } from './load.js';
import { validateDagText } from './validate.js';

const input = workerData as WorkerInput;
const opts = { realpath: realpathExisting, ...(input.paramOverrides !== undefined ? { paramOverrides: input.paramOverrides } : {}), ...(input.baseDir !== undefined ? { baseDir: input.baseDir } : {}) };
parentPort?.postMessage(validateDagText(input.text, input.file, opts));
