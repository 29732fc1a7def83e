/**
 * `GET /containerLogs/{namespace}/{pod}/{container}`: a static pod's container log as the kubelet
 * serves it (kuberuntime ReadLogs over the CRI log file, same for both runtimes): the current
 * attempt's `<restart>.log`, or the one before it with `previous`; `tailLines`, `sinceSeconds` /
 * `sinceTime`, `timestamps` (the record's RFC 3339 time and a space before each line), `limitBytes`,
 * `stream` (All, Stdout, Stderr), and `follow`: new records as they are written, until the
 * container's attempt is over (a newer attempt's file appears, or the pod is gone) or the client
 * goes away. Partial (P) records are written without a newline, so long lines come out whole.
 */
import { open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Host } from '../../host/host.js';
import { parseRecord, podLogDir, type LogRecord } from '../logs/cri-log.js';

export interface LogOptions {
  follow: boolean;
  previous: boolean;
  timestamps: boolean;
  tailLines?: number;
  sinceMs?: number;
  limitBytes?: number;
  stream: 'All' | 'Stdout' | 'Stderr';
}

export class LogRequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const nonNegativeInt = (q: URLSearchParams, name: string): number | undefined => {
  const v = q.get(name);
  if (v === null || v === '') return undefined;
  if (!/^\d+$/.test(v)) throw new LogRequestError(400, `{"message": "Unable to decode query."}`);
  return Number(v);
};
const bool = (q: URLSearchParams, name: string): boolean => {
  const v = q.get(name);
  return v === 'true' || v === '1' || v === '';
};

/** PodLogOptions from the query (the kubelet's v1 parameter codec; `tail` is the legacy tailLines). */
export function parseLogOptions(q: URLSearchParams, now = Date.now()): LogOptions {
  const tail = q.get('tail');
  const tailLines = tail === 'all' ? undefined : tail !== null ? nonNegativeInt(new URLSearchParams({ t: tail }), 't') : nonNegativeInt(q, 'tailLines');
  const sinceSeconds = nonNegativeInt(q, 'sinceSeconds');
  const sinceTime = q.get('sinceTime');
  if (sinceSeconds !== undefined && sinceTime !== null) throw new LogRequestError(422, `{"message": "Invalid request."}`);
  let sinceMs: number | undefined;
  if (sinceSeconds !== undefined) sinceMs = now - sinceSeconds * 1000;
  else if (sinceTime !== null) {
    sinceMs = Date.parse(sinceTime);
    if (Number.isNaN(sinceMs)) throw new LogRequestError(400, `{"message": "Unable to decode query."}`);
  }
  const limitBytes = nonNegativeInt(q, 'limitBytes');
  const stream = q.get('stream') ?? 'All';
  if (stream !== 'All' && stream !== 'Stdout' && stream !== 'Stderr') throw new LogRequestError(400, `invalid stream type "${stream}"`);
  if (limitBytes === 0) throw new LogRequestError(422, `{"message": "Invalid request."}`);
  return { follow: bool(q, 'follow'), previous: bool(q, 'previous'), timestamps: bool(q, 'timestamps'), tailLines, sinceMs, limitBytes, stream };
}

/** Attempts of one container, newest first. */
async function attempts(dir: string): Promise<number[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names
    .map((n) => /^(\d+)\.log$/.exec(n)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .sort((a, b) => b - a);
}

export interface LogTarget {
  host: Host;
  namespace: string;
  pod: string;
  uid: string;
  container: string;
}

/** Real path of the log file to serve; LogRequestError as the kubelet words it when there is none. */
export async function logFile(t: LogTarget, previous: boolean): Promise<string> {
  const dir = t.host.path(`${podLogDir(t.namespace, t.pod, t.uid)}/${t.container}`);
  const list = await attempts(dir);
  const pick = list[previous ? 1 : 0];
  if (pick === undefined) {
    throw new LogRequestError(
      400,
      previous
        ? `previous terminated container "${t.container}" in pod "${t.pod}" not found`
        : `container "${t.container}" in pod "${t.pod}" is waiting to start: ContainerCreating`,
    );
  }
  return path.join(dir, `${pick}.log`);
}

/** Formats records the way kubectl receives them; keeps count of the bytes for limitBytes. */
export class LogFormatter {
  private written = 0;
  /** The last record was partial: the next one continues its line (no timestamp, as the kubelet's addPrefix). */
  private midLine = false;

  constructor(private readonly opts: LogOptions) {}

  /** Whether the record is of the requested stream and time range. */
  accepts(rec: LogRecord): boolean {
    return (
      (this.opts.stream === 'All' || rec.stream === this.opts.stream.toLowerCase()) &&
      (this.opts.sinceMs === undefined || Date.parse(rec.time) >= this.opts.sinceMs)
    );
  }

  /** The text for one record, or undefined when it is filtered out; `done` once limitBytes is reached. */
  format(rec: LogRecord): string | undefined {
    if (!this.accepts(rec)) return undefined;
    let text = `${this.opts.timestamps && !this.midLine ? `${rec.time} ` : ''}${rec.message}${rec.partial ? '' : '\n'}`;
    this.midLine = rec.partial;
    if (this.opts.limitBytes !== undefined) {
      const left = this.opts.limitBytes - this.written;
      if (left <= 0) return undefined;
      if (Buffer.byteLength(text) > left) text = Buffer.from(text).subarray(0, left).toString('utf8');
    }
    this.written += Buffer.byteLength(text);
    return text;
  }

  get done(): boolean {
    return this.opts.limitBytes !== undefined && this.written >= this.opts.limitBytes;
  }
}

/** The records of complete lines in `text`; the unterminated rest is returned for the next read. */
function splitRecords(text: string): { records: LogRecord[]; rest: string } {
  const lines = text.split('\n');
  const rest = lines.pop() ?? '';
  return { records: lines.map(parseRecord).filter((r): r is LogRecord => r !== undefined), rest };
}

/** Lines the tail keeps: the last N records (a partial record counts with the line it ends in). */
function tail(records: LogRecord[], n: number | undefined): LogRecord[] {
  if (n === undefined) return records;
  let lines = 0;
  let i = records.length;
  while (i > 0) {
    if (!records[i - 1]!.partial) {
      if (lines === n) break;
      lines++;
    }
    i--;
  }
  return records.slice(i);
}

export interface StreamControl {
  write(text: string): boolean | void;
  /** True while the client is still there. */
  open(): boolean;
  /** Follow ends once this says the attempt is over (checked after each empty read). */
  attemptOver(): Promise<boolean>;
  pollMs?: number;
}

/** Writes the log file per `opts` to `out`; with follow, keeps going until the attempt ends. */
export async function streamLog(file: string, opts: LogOptions, out: StreamControl): Promise<void> {
  const fh = await open(file, 'r');
  try {
    const fmt = new LogFormatter(opts);
    let offset = 0;
    let carry = '';
    const readMore = async (): Promise<LogRecord[]> => {
      const size = (await fh.stat()).size;
      if (size <= offset) return [];
      const buf = Buffer.alloc(size - offset);
      const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
      offset += bytesRead;
      const { records, rest } = splitRecords(carry + buf.subarray(0, bytesRead).toString('utf8'));
      carry = rest;
      return records;
    };
    const emit = (records: LogRecord[]): void => {
      for (const r of records) {
        const text = fmt.format(r);
        if (text !== undefined) out.write(text);
        if (fmt.done) return;
      }
    };
    // tailLines counts the lines of the requested stream (and time range) only
    emit(
      tail(
        (await readMore()).filter((r) => fmt.accepts(r)),
        opts.tailLines,
      ),
    );
    if (!opts.follow) return;
    const poll = out.pollMs ?? 200;
    while (out.open() && !fmt.done) {
      const more = await readMore();
      if (more.length > 0) {
        emit(more);
        continue;
      }
      if (await out.attemptOver()) {
        emit(await readMore());
        return;
      }
      await new Promise((r) => setTimeout(r, poll));
    }
  } finally {
    await fh.close();
  }
}

/** Follow's end condition for a file: a newer attempt exists, or the directory is gone. */
export async function newerAttemptExists(file: string): Promise<boolean> {
  const current = Number(/(\d+)\.log$/.exec(file)?.[1] ?? -1);
  try {
    await stat(path.dirname(file));
  } catch {
    return true;
  }
  return (await attempts(path.dirname(file)))[0]! > current;
}
