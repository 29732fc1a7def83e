/**
 * What every preflight (init, join) is made of: kubeadm's Checker as data, the checks several
 * workflows run (ports, files that must not exist yet, root), and kubeadm's RunChecks with
 * `--ignore-preflight-errors` matching (case-insensitive check names, `all`).
 */
import { readdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { messageOf, PreflightError } from '../errors.js';
import type { Host } from '../host/host.js';
import type { Printer } from '../output.js';

/** What a check found, as kubeadm's Checker returns it: warnings are printed, errors fail the phase. */
export interface CheckFindings {
  warnings: string[];
  errors: string[];
}

export interface PreflightCheck {
  name: string;
  /** Error messages (empty when the check passes), or warnings and errors. */
  check(): Promise<string[] | CheckFindings>;
  /** Runs only after the previous such check finished (port checks bind and must not race each other). */
  serial?: boolean;
}

export interface PreflightResult {
  /** `\t[WARNING Name]: message` lines (warnings and ignored errors). */
  warnings: string[];
  /** `\t[ERROR Name]: message` lines. */
  errors: string[];
  /** Names of the checks that failed and were not ignored. */
  failed: string[];
}

/** kubeadm names file checks after the path: /etc/kubernetes/x.yaml → `-etc-kubernetes-x.yaml`. */
export const pathLabel = (hostPath: string): string => hostPath.replace(/\//g, '-');

/** True when nothing could be bound there: kubeadm binds `:port` (all addresses) and closes it. */
export function portCheck(port: number): PreflightCheck {
  return {
    name: `Port-${port}`,
    serial: true,
    check: () =>
      new Promise((resolve) => {
        const server = createServer();
        server.once('error', () => resolve([`Port ${port} is in use`]));
        server.listen({ port, exclusive: true }, () => server.close(() => resolve([])));
      }),
  };
}

/** kubeadm's FileAvailable: the file must not exist yet (a second init or join stops here). */
export function fileAvailableCheck(host: Host, hostPath: string): PreflightCheck {
  return {
    name: `FileAvailable-${pathLabel(hostPath)}`,
    check: async () => ((await host.exists(hostPath)) ? [`${host.path(hostPath)} already exists`] : []),
  };
}

/** A directory that must be absent or empty (etcd would otherwise join whatever data it finds). */
export function dirAvailableCheck(host: Host, hostPath: string): PreflightCheck {
  return {
    name: `DirAvailable-${pathLabel(hostPath)}`,
    check: async () => {
      let entries: string[];
      try {
        entries = await readdir(host.path(hostPath));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') return [];
        return [`unable to check if ${host.path(hostPath)} is empty: ${messageOf(err)}`];
      }
      return entries.length > 0 ? [`${host.path(hostPath)} is not empty`] : [];
    },
  };
}

/** The privilege check kubeadm runs on its own, first: nothing else means anything without root. */
export function privilegedUserCheck(facts: { uid(): number }): PreflightCheck {
  return {
    name: 'IsPrivilegedUser',
    check: async () => (facts.uid() === 0 ? [] : ['user is not running as root']),
  };
}

/** kubeadm's setHasItemOrAll: the set holds lower-cased names. */
function ignored(ignore: ReadonlySet<string>, name: string): boolean {
  return ignore.has('all') || ignore.has(name.toLowerCase());
}

/** Runs the checks (the serial ones one by one) and sorts failures into warnings and errors, in the checks' order. */
export async function runChecks(checks: readonly PreflightCheck[], ignore: ReadonlySet<string>): Promise<PreflightResult> {
  const result: PreflightResult = { warnings: [], errors: [], failed: [] };
  // The checks only look (files, ports, the CRI), so they run at once and are reported in kubeadm's
  // order: in init their file reads wait for libuv threads behind the key generation, one after
  // another when run in turn (agent start 50–180 ms later on 2 cores, 3 interleaved dry-run pairs).
  let serial: Promise<unknown> = Promise.resolve();
  const all = await Promise.all(
    checks.map((c) => {
      if (!c.serial) return c.check();
      const run = serial.then(() => c.check());
      serial = run.catch(() => undefined);
      return run;
    }),
  );
  for (const [i, c] of checks.entries()) {
    const found = all[i]!;
    const { warnings, errors } = Array.isArray(found) ? { warnings: [], errors: found } : found;
    // kubeadm's RunChecks: an ignored check's errors become warnings, printed after its own
    const demoted = ignored(ignore, c.name);
    for (const m of demoted ? [...warnings, ...errors] : warnings) result.warnings.push(`\t[WARNING ${c.name}]: ${m}`);
    if (demoted || errors.length === 0) continue;
    for (const m of errors) result.errors.push(`\t[ERROR ${c.name}]: ${m}`);
    result.failed.push(c.name);
  }
  return result;
}

/** Prints the result as kubeadm does and throws PreflightError when a check failed. */
export function report(ctx: { out: Printer }, result: PreflightResult): void {
  for (const w of result.warnings) ctx.out.text(w);
  if (result.errors.length === 0) return;
  ctx.out.text(
    [
      '[preflight] Some fatal errors occurred:',
      ...result.errors,
      '[preflight] If you know what you are doing, you can make a check non-fatal with `--ignore-preflight-errors=...`',
    ].join('\n'),
  );
  throw new PreflightError(`preflight checks failed: ${result.failed.join(', ')}`, {
    field: '--ignore-preflight-errors',
    hint: 'fix the [ERROR ...] lines above, or ignore a check by name',
  });
}
