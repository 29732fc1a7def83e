/**
 * kubeadm's phase workflow, in TypeScript: a phase is data (name, help, run, subphases) and one Runner
 * executes, skips and lists them. `kubestrap init phase certs all` exists because the CLI walks this
 * tree, not because of special cases.
 */
import { ConfigError } from '../errors.js';

export interface Phase<C> {
  /** Lower-case, dash-separated, unique among siblings (`apiserver-kubelet-client`). */
  name: string;
  /** One line for `--help` and the phase list. */
  help: string;
  /** Longer text for `init phase <name> --help`. */
  description?: string;
  /**
   * Runs before any phase's `run`, for every phase selected: the place to render and validate what
   * the phase will write, so bad input fails before the first file is written.
   */
  prepare?: (ctx: C) => Promise<void> | void;
  /** The work. A parent with subphases may also have its own run (it goes before its children). */
  run?: (ctx: C) => Promise<void> | void;
  phases?: Phase<C>[];
  /** Not listed in help (still runnable by path). */
  hidden?: boolean;
  /** Children that are independent of each other and may run at the same time (e.g. certificate leaves). */
  parallelChildren?: boolean;
}

/** A phase with its full path, e.g. `certs/apiserver`. */
export interface PhaseEntry<C> {
  path: string;
  phase: Phase<C>;
  depth: number;
}

export interface RunOptions {
  /** Phase paths to skip; a parent path skips its whole subtree (`certs` or `certs/etcd-ca`). */
  skip?: readonly string[];
  /** Run only this subtree (what `init phase <path>` does); `all` as last segment means the parent. */
  only?: string;
}

export class Runner<C> {
  constructor(readonly phases: readonly Phase<C>[]) {
    this.checkNames(phases, '');
  }

  /** Every phase in execution order, depth-first. */
  entries(): PhaseEntry<C>[] {
    const out: PhaseEntry<C>[] = [];
    const walk = (list: readonly Phase<C>[], prefix: string, depth: number): void => {
      for (const phase of list) {
        const path = prefix ? `${prefix}/${phase.name}` : phase.name;
        out.push({ path, phase, depth });
        if (phase.phases) walk(phase.phases, path, depth + 1);
      }
    };
    walk(this.phases, '', 0);
    return out;
  }

  /** kubeadm's "The "init" command executes the following phases:" listing. */
  describe(): string {
    return this.entries()
      .filter((e) => !e.phase.hidden)
      .map((e) => `${'  '.repeat(e.depth)}${e.depth ? '/' : ''}${e.phase.name}`.padEnd(32) + ` ${e.phase.help}`)
      .join('\n');
  }

  /** Validates skip paths up front, so a typo is an error instead of a phase that silently runs. */
  checkPaths(paths: readonly string[], flag: string): void {
    const known = new Set(this.entries().map((e) => e.path));
    for (const p of paths) {
      const norm = normalize(p);
      if (!known.has(norm)) {
        throw new ConfigError(`unknown phase "${p}"`, {
          field: flag,
          hint: `valid phases: ${[...known].join(', ')}`,
        });
      }
    }
  }

  /** The entries a run would execute, after `only` and `skip`. */
  select(options: RunOptions = {}): PhaseEntry<C>[] {
    const skip = (options.skip ?? []).map(normalize);
    const only = options.only === undefined ? undefined : normalize(options.only);
    if (only !== undefined) this.checkPaths([only], 'phase');
    this.checkPaths(skip, '--skip-phases');
    const within = (path: string, root: string): boolean => path === root || path.startsWith(`${root}/`);
    return this.entries().filter(
      (e) => (only === undefined || within(e.path, only)) && !skip.some((s) => within(e.path, s)),
    );
  }

  /** Prepares every selected phase, then runs them in order; independent siblings run together. */
  async run(ctx: C, options: RunOptions = {}): Promise<string[]> {
    const selected = this.select(options);
    for (const e of selected) await e.phase.prepare?.(ctx);
    const chosen = new Set(selected.map((e) => e.path));
    const ran: string[] = [];
    const runList = async (list: readonly Phase<C>[], prefix: string, parallel: boolean): Promise<void> => {
      const one = async (phase: Phase<C>): Promise<void> => {
        const path = prefix ? `${prefix}/${phase.name}` : phase.name;
        if (chosen.has(path) && phase.run) {
          await phase.run(ctx);
          ran.push(path);
        }
        if (phase.phases) await runList(phase.phases, path, phase.parallelChildren ?? false);
      };
      if (parallel) await Promise.all(list.map(one));
      else for (const phase of list) await one(phase);
    };
    await runList(this.phases, '', false);
    return ran;
  }

  private checkNames(list: readonly Phase<C>[], prefix: string): void {
    const seen = new Set<string>();
    for (const p of list) {
      if (!/^[a-z0-9][a-z0-9-]*$/.test(p.name) || p.name === 'all') {
        throw new Error(`phase name "${prefix}${p.name}" is not valid`);
      }
      if (seen.has(p.name)) throw new Error(`phase "${prefix}${p.name}" is defined twice`);
      seen.add(p.name);
      if (p.phases) this.checkNames(p.phases, `${prefix}${p.name}/`);
    }
  }
}

/** `certs/all` means `certs`; surrounding slashes are ignored. */
function normalize(path: string): string {
  const parts = path.split('/').filter(Boolean);
  if (parts.length > 1 && parts[parts.length - 1] === 'all') parts.pop();
  return parts.join('/');
}
