/**
 * The agent's structured logger: one line per record, `time level msg key=value ...` (logfmt, the
 * klog/structured style an operator greps), on stderr. Small on purpose: the agent logs rarely
 * (state changes and errors), so a dependency like pino buys nothing here.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every record (e.g. `{component: 'file-source'}`). */
  child(fields: LogFields): Logger;
}

const LEVEL_ORDER: Readonly<Record<LogLevel, number>> = { debug: 0, info: 1, warn: 2, error: 3 };

/** A logfmt value: bare when safe, otherwise JSON-quoted (so spaces and quotes stay one token). */
function formatValue(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Error) return JSON.stringify(value.message);
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  return /^[^\s"=]+$/.test(text) ? text : JSON.stringify(text);
}

export function formatRecord(level: LogLevel, msg: string, fields: LogFields, time = new Date()): string {
  const parts = [time.toISOString(), level.toUpperCase(), JSON.stringify(msg)];
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined) parts.push(`${key}=${formatValue(value)}`);
  }
  return parts.join(' ');
}

type Sink = (line: string) => void;

class LineLogger implements Logger {
  constructor(
    private readonly sink: Sink,
    private readonly minLevel: LogLevel,
    private readonly base: LogFields,
  ) {}

  private write(level: LogLevel, msg: string, fields?: LogFields): void {
    if (LEVEL_ORDER[level] < LEVEL_ORDER[this.minLevel]) return;
    this.sink(formatRecord(level, msg, { ...this.base, ...fields }));
  }

  debug(msg: string, fields?: LogFields): void {
    this.write('debug', msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.write('info', msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.write('warn', msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.write('error', msg, fields);
  }
  child(fields: LogFields): Logger {
    return new LineLogger(this.sink, this.minLevel, { ...this.base, ...fields });
  }
}

/** The agent's logger on stderr; `KUBESTRAP_LOG_LEVEL=debug` shows debug records. */
export function createLogger(level: LogLevel = envLevel(), stream: NodeJS.WritableStream = process.stderr): Logger {
  return new LineLogger((line) => stream.write(`${line}\n`), level, {});
}

function envLevel(): LogLevel {
  const v = process.env.KUBESTRAP_LOG_LEVEL;
  return v === 'debug' || v === 'info' || v === 'warn' || v === 'error' ? v : 'info';
}

/** A logger that keeps its records, for tests. */
export interface MemoryLogger extends Logger {
  records: { level: LogLevel; msg: string; fields: LogFields }[];
}

export function memoryLogger(): MemoryLogger {
  const records: MemoryLogger['records'] = [];
  const make = (base: LogFields): Logger => {
    const at =
      (level: LogLevel) =>
      (msg: string, fields?: LogFields): void => {
        records.push({ level, msg, fields: { ...base, ...fields } });
      };
    return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (f) => make({ ...base, ...f }) };
  };
  return Object.assign(make({}), { records });
}

/** A logger that drops everything. */
export const nullLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => nullLogger,
};
