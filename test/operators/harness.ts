/**
 * The operator test harness: the in-memory stage executor of sdk/testing.ts (published as
 * `dagctl/testing`), re-exported under the name the project's operator tests import.
 */
export * from '../../sdk/testing.js';
