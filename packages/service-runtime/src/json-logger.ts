export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** One JSON object per line: easy to grep locally and to ship anywhere. Never pass event data. */
export interface JsonLogger {
  log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void;
  /** A logger that adds `fields` to every line, e.g. `{ component: 'publisher' }`. */
  child(fields: Record<string, unknown>): JsonLogger;
}

const rank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface JsonLoggerOptions {
  /** Written as `service` on every line. */
  service: string;
  /** Lines below this level are dropped; default `info`. */
  level?: LogLevel;
  /** Where lines go; default stderr, so stdout stays free for a program's output. */
  write?: (line: string) => void;
}

export const createJsonLogger = ({ service, level = 'info', write }: JsonLoggerOptions): JsonLogger => {
  const sink = write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const make = (base: Record<string, unknown>): JsonLogger => ({
    log(lineLevel, msg, fields) {
      if (rank[lineLevel] < rank[level]) return;
      sink(JSON.stringify({ time: new Date().toISOString(), level: lineLevel, service, ...base, msg, ...fields }));
    },
    child: (fields) => make({ ...base, ...fields }),
  });
  return make({});
};
