/** kubeadm-style progress lines: `[certs] Generating "apiserver" certificate and key`. */
export interface Printer {
  /** A `[prefix] message` line on stdout. */
  line(prefix: string, message: string): void;
  /** Plain text on stdout (tables, join command, dry-run output). */
  text(message: string): void;
  /** A warning line on stderr (`[prefix] WARNING: ...`). */
  warn(prefix: string, message: string): void;
}

export function consolePrinter(stdout: NodeJS.WritableStream = process.stdout, stderr: NodeJS.WritableStream = process.stderr): Printer {
  return {
    line: (prefix, message) => stdout.write(`[${prefix}] ${message}\n`),
    text: (message) => stdout.write(message.endsWith('\n') ? message : `${message}\n`),
    warn: (prefix, message) => stderr.write(`[${prefix}] WARNING: ${message}\n`),
  };
}

/** A printer that keeps the lines, for tests. */
export function memoryPrinter(): Printer & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    line: (prefix, message) => lines.push(`[${prefix}] ${message}`),
    text: (message) => lines.push(message),
    warn: (prefix, message) => lines.push(`[${prefix}] WARNING: ${message}`),
  };
}
