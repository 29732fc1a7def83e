/**
 * kubeadm's phase workflow, in TypeScript: a phase is data (name, help, run, subphases) and one Runner
 * executes, skips and lists them. `kubestrap init phase certs all` exists because the CLI walks this
 * tree, not because of special cases. Every workflow (init, reset, and join/upgrade next) runs on it;
 * `C` is the workflow's typed data (phases/init/data.ts), which phases shared between workflows see
 * only through the interfaces in phases/data.ts.
 */
import { ConfigError, KubestrapError } from '../errors.js';

/** What the runner hands a phase besides the workflow data: its own path, e.g. `certs/apiserver`. */
export interface PhaseRun {
  readonly path: string;
}

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
  prepare?: (ctx: C, self: PhaseRun) => Promise<void> | void;
  /** The work. A parent with subphases may also have its own run (it goes before its children). */
  run?: (ctx: C, self: PhaseRun) => Promise<void> | void;
  /**
   * kubeadm's RunIf: whether the phase applies to this run (e.g. not local etcd with an external
   * one). When false neither prepare nor run is called, for it or its subphases; `skipped` runs in
   * its place, to say so.
   */
  when?: (ctx: C) => boolean;
  /** Runs instead of `run` when `when` says the phase does not apply (kubeadm's "Skipping" lines). */
  skipped?: (ctx: C, self: PhaseRun) => Promise<void> | void;
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
    return this.entries().filter((e) => (only === undefined || within(e.path, only)) && !skip.some((s) => within(e.path, s)));
  }

  /**
   * Prepares every selected phase, then runs them in order; independent siblings run together. A
   * user error (KubestrapError) leaves tagged with the path of the phase it came from, which the CLI
   * prints as kubeadm does (`error execution phase certs/apiserver: ...`).
   */
  async run(ctx: C, options: RunOptions = {}): Promise<string[]> {
    const selected = this.select(options);
    const applies = this.applicability(ctx);
    for (const e of selected) {
      if (applies.get(e.path)) await tagged(e.path, () => e.phase.prepare?.(ctx, { path: e.path }));
    }
    const chosen = new Set(selected.map((e) => e.path));
    const ran: string[] = [];
    const runList = async (list: readonly Phase<C>[], prefix: string, parallel: boolean): Promise<void> => {
      const one = async (phase: Phase<C>): Promise<void> => {
        const path = prefix ? `${prefix}/${phase.name}` : phase.name;
        const applied = applies.get(path) ?? true;
        const step = applied ? phase.run : phase.when?.(ctx) === false ? phase.skipped : undefined;
        if (chosen.has(path) && step) {
          await tagged(path, () => step(ctx, { path }));
          ran.push(path);
        }
        if (phase.phases && applied) await runList(phase.phases, path, phase.parallelChildren ?? false);
      };
      if (parallel) await Promise.all(list.map(one));
      else for (const phase of list) await one(phase);
    };
    await runList(this.phases, '', false);
    return ran;
  }

  /** Path → whether the phase applies (its own `when` and every ancestor's), asked once per run. */
  private applicability(ctx: C): Map<string, boolean> {
    const out = new Map<string, boolean>();
    const walk = (list: readonly Phase<C>[], prefix: string, parent: boolean): void => {
      for (const phase of list) {
        const path = prefix ? `${prefix}/${phase.name}` : phase.name;
        const applies = parent && (phase.when?.(ctx) ?? true);
        out.set(path, applies);
        if (phase.phases) walk(phase.phases, path, applies);
      }
    };
    walk(this.phases, '', true);
    return out;
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

/** Runs one phase step; a user error gets the phase's path (the innermost phase keeps it). */
async function tagged(path: string, step: () => Promise<void> | void): Promise<void> {
  try {
    await step();
  } catch (err) {
    if (err instanceof KubestrapError) err.phase ??= path;
    throw err;
  }
}

/** `certs/all` means `certs`; surrounding slashes are ignored. */
function normalize(path: string): string {
  const parts = path.split('/').filter(Boolean);
  if (parts.length > 1 && parts[parts.length - 1] === 'all') parts.pop();
  return parts.join('/');
}
