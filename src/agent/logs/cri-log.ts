/**
 * CRI container log format (what containerd writes and `kubectl logs` reads):
 * `<RFC3339Nano> <stdout|stderr> <F|P> <message>\n`. F ends a line; P is a chunk of a longer line
 * that continues on the next record. Used by the process runtime (which has no containerd to write
 * it) and by `kubestrap logs` for both runtimes.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';

export type LogStream = 'stdout' | 'stderr';

/** Longest chunk written as one record; longer lines are split into P records (containerd: 16 KiB). */
export const MAX_RECORD_BYTES = 16 * 1024;

/** Host path of a pod's log directory, as the kubelet lays it out. */
export function podLogDir(namespace: string, podName: string, podUid: string): string {
  return `/var/log/pods/${namespace}_${podName}_${podUid}`;
}

/** Host path of one container attempt's log file. */
export function containerLogPath(namespace: string, podName: string, podUid: string, container: string, attempt: number): string {
  return `${podLogDir(namespace, podName, podUid)}/${container}/${attempt}.log`;
}

/** RFC3339 with nanoseconds; JS clocks give milliseconds, padded so the width matches containerd's. */
export function rfc3339Nano(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
}

export function formatRecord(time: Date, stream: LogStream, partial: boolean, message: string): string {
  return `${rfc3339Nano(time)} ${stream} ${partial ? 'P' : 'F'} ${message}\n`;
}

/**
 * Turns raw output of one stream into CRI records: complete lines as F, over-long runs as P, and a
 * trailing unterminated chunk as F when the stream ends.
 */
export class LineSplitter {
  private pending = '';

  constructor(
    private readonly stream: LogStream,
    private readonly emit: (record: string) => void,
    private readonly now: () => Date = () => new Date(),
  ) {}

  push(chunk: string): void {
    this.pending += chunk;
    let nl: number;
    while ((nl = this.pending.indexOf('\n')) >= 0) {
      this.emitLine(this.pending.slice(0, nl), false);
      this.pending = this.pending.slice(nl + 1);
    }
    while (Buffer.byteLength(this.pending) > MAX_RECORD_BYTES) {
      this.emit(formatRecord(this.now(), this.stream, true, this.pending.slice(0, MAX_RECORD_BYTES)));
      this.pending = this.pending.slice(MAX_RECORD_BYTES);
    }
  }

  end(): void {
    if (this.pending !== '') this.emitLine(this.pending, false);
    this.pending = '';
  }

  private emitLine(line: string, partial: boolean): void {
    const time = this.now();
    let rest = line;
    while (Buffer.byteLength(rest) > MAX_RECORD_BYTES) {
      this.emit(formatRecord(time, this.stream, true, rest.slice(0, MAX_RECORD_BYTES)));
      rest = rest.slice(MAX_RECORD_BYTES);
    }
    this.emit(formatRecord(time, this.stream, partial, rest));
  }
}

/** Appends CRI records for stdout and stderr of one container attempt to its log file. */
export class CriLogWriter {
  private readonly file: WriteStream;
  readonly stdout: LineSplitter;
  readonly stderr: LineSplitter;

  constructor(realPath: string) {
    mkdirSync(path.dirname(realPath), { recursive: true, mode: 0o755 });
    this.file = createWriteStream(realPath, { flags: 'a', mode: 0o640 });
    this.file.on('error', () => undefined); // a full disk must not crash the agent
    const write = (record: string): void => void this.file.write(record);
    this.stdout = new LineSplitter('stdout', write);
    this.stderr = new LineSplitter('stderr', write);
  }

  async close(): Promise<void> {
    this.stdout.end();
    this.stderr.end();
    await new Promise<void>((resolve) => this.file.end(resolve));
  }
}

export interface LogRecord {
  time: string;
  stream: LogStream;
  partial: boolean;
  message: string;
}

/** Parses one record; undefined for a malformed line (skipped, like kubectl does with a warning). */
export function parseRecord(line: string): LogRecord | undefined {
  const m = /^(\S+) (stdout|stderr) ([FP])(?::\S*)? ?(.*)$/.exec(line);
  if (!m) return undefined;
  return { time: m[1]!, stream: m[2] as LogStream, partial: m[3] === 'P', message: m[4]! };
}

/** The messages of a CRI log file's content, with partial records joined into their lines. */
export function readMessages(content: string): string[] {
  const out: string[] = [];
  let partial = '';
  for (const line of content.split('\n')) {
    if (line === '') continue;
    const rec = parseRecord(line);
    if (!rec) continue;
    if (rec.partial) {
      partial += rec.message;
      continue;
    }
    out.push(partial + rec.message);
    partial = '';
  }
  if (partial !== '') out.push(partial);
  return out;
}
