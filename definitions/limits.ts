/**
 * Limits of the DAG file format that callers need without loading the validator (the CLI's
 * option parsing): a module with no imports.
 */

/** Default cap on a DAG file's size: 8 MiB. */
export const DEFAULT_MAX_DAG_BYTES = 8 * 1024 * 1024;
