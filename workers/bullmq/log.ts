/**
 * Structured JSON logs, one object per line: {ts, level, msg, ...fields}. Written to a stream
 * (stderr by default) so stdout stays free for command output.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void;
}

export function jsonLogger(stream: NodeJS.WritableStream, base: Record<string, unknown> = {}, minLevel: LogLevel = 'info'): Logger {
  const order: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };
  return {
    log(level, msg, fields = {}) {
      if (order[level] < order[minLevel]) return;
      stream.write(JSON.stringify({ ts: new Date().toISOString(), level, msg, ...base, ...fields }) + '\n');
    },
  };
}

export const silentLogger: Logger = { log() {} };
