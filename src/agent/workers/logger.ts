/** The minimal logger the workers need; the agent's logger satisfies it. */
export interface WorkerLogger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export const silentLogger: WorkerLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };
