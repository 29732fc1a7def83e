/**
 * Errors a user can act on. Each carries where the problem is (file, field) and what to do, so the
 * CLI prints one line instead of a stack trace. Anything that is not a KubestrapError is a bug and
 * is reported as such. The error underneath (a failed syscall, an API answer) stays attached as
 * `cause`; the CLI prints that chain with --v=5 or KUBESTRAP_DEBUG=1.
 */
export interface ErrorPlace {
  /** The file the problem is in (config, manifest, certificate), when there is one. */
  file?: string;
  /** Dotted path of the offending field, e.g. `networking.podSubnet` or `spec.containers[0].image`. */
  field?: string;
  /** What the user should do about it. */
  hint?: string;
  /** The error this one explains (kept, not flattened into the message). */
  cause?: unknown;
}

export class KubestrapError extends Error {
  readonly file?: string;
  readonly field?: string;
  readonly hint?: string;
  /** Process exit code the CLI uses for this error. */
  readonly exitCode: number = 1;
  /** The workflow phase it came from (`certs/apiserver`), set by the phase runner. */
  phase?: string;

  constructor(message: string, place: ErrorPlace = {}) {
    super(message, place.cause === undefined ? undefined : { cause: place.cause });
    this.name = new.target.name;
    this.file = place.file;
    this.field = place.field;
    this.hint = place.hint;
  }

  /** The single line shown to the user: `file: field: message (hint)`. */
  oneLine(): string {
    const where = [this.file, this.field].filter(Boolean).join(': ');
    const hint = this.hint ? ` (${this.hint})` : '';
    return `${where ? `${where}: ` : ''}${this.message}${hint}`;
  }
}

/** Invalid flags or configuration files. */
export class ConfigError extends KubestrapError {}

/** A preflight check failed and was not ignored. */
export class PreflightError extends KubestrapError {}

/** A static pod manifest (or a rendered one) is not a valid Pod. */
export class ManifestError extends KubestrapError {}

/** Something on the host (file system, process, network) is not as required. */
export class HostError extends KubestrapError {}

/**
 * The cause chain of an error, one line each, outermost first: what `--v=5` prints under the
 * one-line message (with the stack of the innermost Error, where the bug or syscall is).
 */
export function causeChain(err: unknown): string[] {
  const lines: string[] = [];
  const seen = new Set<unknown>();
  let current: unknown = err;
  let innermost: Error | undefined;
  while (current !== undefined && current !== null && !seen.has(current)) {
    seen.add(current);
    if (current instanceof Error) {
      innermost = current;
      const code = (current as NodeJS.ErrnoException).code;
      lines.push(`${current.name}${code ? ` ${code}` : ''}: ${current.message}`);
      current = current.cause;
    } else {
      lines.push(String(current));
      current = undefined;
    }
  }
  if (innermost?.stack)
    lines.push(
      ...innermost.stack
        .split('\n')
        .slice(1)
        .map((l) => l.trim()),
    );
  return lines;
}

/**
 * A container cannot be created or started. `reason` is the kubelet's waiting reason for it
 * (ErrImageNeverPull, ErrImagePull, CreateContainerError, RunContainerError), shown in the
 * container's waiting state (`kubestrap ps`, /pods, the mirror pod).
 */
export class ContainerStartError extends HostError {
  constructor(
    readonly reason: string,
    message: string,
    place: ErrorPlace = {},
  ) {
    super(message, place);
  }
}

/** The message of any thrown value, without assuming it is an Error. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
