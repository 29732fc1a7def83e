/**
 * kubeadm's StaticPodControlPlane / upgradeComponent / rollbackOldManifests, on the agent: per
 * component, etcd first, the new manifest is rendered from the target config and compared with the
 * running one (equal → skipped, so a rerun after a failure continues where it stopped); else the
 * component's certificates are renewed (kubeadm's renewCertsByComponent table), its manifest backed
 * up and the new one written atomically, and the agent is asked — not the API server, which is down
 * meanwhile — for the new pod hash, ready, and then the component's own health endpoint. etcd also
 * gets a snapshot through its API and a copy of its data dir before, and a health check after.
 * On any failure every manifest backed up in this run is put back (etcd's data dir too when etcd's
 * version changed: an etcd refuses a data dir a newer one wrote) and the old versions must serve
 * again; the error names the component with its agent status and last log lines, and says what was
 * restored and where the backups are. One deliberate difference from kubeadm: kube-apiserver's new
 * manifest is written right after etcd's (it is unavailable while its etcd restarts anyway, so the two
 * outages overlap); the waits keep kubeadm's order, so a failure names the first that does not come up.
 */
import { isDeepStrictEqual } from 'node:util';
import { posix } from 'node:path';
import { parse } from 'yaml';
import { renewOne } from '../../certs/renew.js';
import { renewTargets } from '../../certs/targets.js';
import type { ResolvedConfig } from '../../config/types.js';
import { HostError, messageOf } from '../../errors.js';
import { etcdClient, type EtcdClient } from '../../etcd/client.js';
import { readEtcdTls } from '../../etcd/tls.js';
import { renderManifests, type ComponentName, type RenderedManifest } from '../../manifests/index.js';
import type { Printer } from '../../output.js';
import type { Host } from '../../host/host.js';
import { manifestDiff, type StaticPodPathManager } from '../static-pod-paths.js';
import { AgentWaiter, ComponentNotUp } from '../agent-waiter.js';

/** kubeadm's renewCertsByComponent: the certificates each component uses (etcd ones only with local etcd). */
export const COMPONENT_CERTS: Readonly<Record<ComponentName, readonly string[]>> = {
  etcd: ['etcd-server', 'etcd-peer', 'etcd-healthcheck-client'],
  'kube-apiserver': ['apiserver', 'apiserver-kubelet-client', 'front-proxy-client', 'apiserver-etcd-client'],
  'kube-controller-manager': ['controller-manager.conf'],
  'kube-scheduler': ['scheduler.conf'],
};

export const UPGRADE_ORDER: readonly ComponentName[] = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'];

/** The local etcd member's client URL (init's listen-client-urls include the loopback one). */
const LOCAL_ETCD = 'https://127.0.0.1:2379';

export interface ControlPlaneContext {
  readonly config: ResolvedConfig;
  readonly host: Host;
  readonly out: Printer;
  readonly dryRun: boolean;
  readonly paths: StaticPodPathManager;
  readonly waiter: AgentWaiter;
  readonly renewCertificates: boolean;
  readonly etcdUpgrade: boolean;
  /** Components this node runs (manifests present); `upgrade node` on a worker has none. */
  readonly components: readonly ComponentName[];
}

/** Two manifests are equal when they decode to the same document (kubeadm's ManifestFilesAreEqual). */
export function manifestsEqual(a: string, b: string): boolean {
  return a === b || isDeepStrictEqual(parse(a), parse(b));
}

/** The components this run upgrades, in order: what the node runs, etcd only when local and asked. */
export function componentsToUpgrade(ctx: Pick<ControlPlaneContext, 'config' | 'etcdUpgrade' | 'components'>): ComponentName[] {
  const localEtcd = ctx.config.cluster.etcd.local !== undefined && !ctx.config.cluster.etcd.external;
  return UPGRADE_ORDER.filter((c) => ctx.components.includes(c) && (c !== 'etcd' || (localEtcd && ctx.etcdUpgrade)));
}

export interface ManifestChange {
  component: ComponentName;
  path: string;
  current: string;
  next: RenderedManifest;
  diff: string;
}

/** Every manifest change the target would make (what `upgrade diff` and `--dry-run` print). */
export async function plannedChanges(ctx: Pick<ControlPlaneContext, 'config' | 'host' | 'etcdUpgrade' | 'components' | 'paths'>): Promise<ManifestChange[]> {
  const components = componentsToUpgrade(ctx);
  const rendered = await renderManifests(ctx.config, ctx.host, components);
  const out: ManifestChange[] = [];
  for (const component of components) {
    const next = rendered.get(component)!;
    const current = (await ctx.paths.current(component)) ?? '';
    const path = ctx.paths.realManifestPath(component);
    out.push({ component, path, current, next, diff: manifestsEqual(current, next.yaml) ? '' : manifestDiff(ctx.host.path(path), current, next.yaml) });
  }
  return out;
}

interface Done {
  component: ComponentName;
  /** The hash the agent ran before this run touched the component. */
  beforeHash: string | undefined;
  imageChanged: boolean;
}

/** The whole control-plane step; throws HostError after a rollback. */
export async function upgradeControlPlane(ctx: ControlPlaneContext): Promise<void> {
  const { out, config, paths } = ctx;
  const changes = await plannedChanges(ctx);
  if (ctx.dryRun) {
    for (const ch of changes) {
      if (!ch.diff) out.line('upgrade/staticpods', `Current and new manifests of ${ch.component} are equal, skipping upgrade`);
      else {
        out.line('upgrade/staticpods', `Would write the new manifest of ${ch.component} to "${ctx.host.path(ch.path)}"; the diff:`);
        out.text(ch.diff);
      }
    }
    return;
  }
  out.line('upgrade/staticpods', `Backing up changed manifests to "${ctx.host.path(paths.backupManifestDir)}"`);
  const done: Done[] = [];
  const timeoutMs = config.timeoutsMs.upgradeManifests;
  let current: ComponentName = changes[0]?.component ?? 'etcd';
  const write = async (ch: ManifestChange): Promise<void> => {
    const { component } = ch;
    current = component;
    out.line('upgrade/staticpods', `Preparing for "${component}" upgrade`);
    const beforeHash = await ctx.waiter.currentHash(component, config.nodeName);
    const image = (yaml: string): string | undefined => (parse(yaml) as { spec?: { containers?: { image?: string }[] } } | null)?.spec?.containers?.[0]?.image;
    await paths.backup(component);
    done.push({ component, beforeHash, imageChanged: image(ch.current) !== ch.next.pod.spec?.containers[0]?.image });
    if (component === 'etcd') await backupEtcd(ctx);
    if (ctx.renewCertificates) await renewComponentCerts(ctx, component);
    out.line(
      'upgrade/staticpods',
      `Moving new manifest to "${ctx.host.path(ch.path)}" and backing up old manifest to "${ctx.host.path(paths.backupManifestPath(component))}"`,
    );
    await paths.write(component, ch.next.yaml);
  };
  try {
    const changed = changes.filter((ch) => {
      if (!ch.diff) out.line('upgrade/staticpods', `Current and new manifests of ${ch.component} are equal, skipping upgrade`);
      return ch.diff !== '';
    });
    for (const ch of changed) {
      const { component } = ch;
      if (!done.some((d) => d.component === component)) await write(ch);
      const api = changed.find((c) => c.component === 'kube-apiserver');
      if (component === 'etcd' && api) {
        // kube-apiserver is unavailable while its etcd restarts anyway: restarting it now overlaps the two
        // outages instead of adding them up; the waits keep kubeadm's order, so a failure names the first
        out.line('upgrade/staticpods', 'kube-apiserver is unavailable while etcd restarts: writing its new manifest now too, so the two restarts overlap');
        await write(api);
        current = 'etcd';
      }
      out.line('upgrade/staticpods', `Waiting for the agent to restart ${component} (up to ${Math.round(timeoutMs / 1000)} s)`);
      current = component;
      const t0 = performance.now();
      const beforeHash = done.find((d) => d.component === component)?.beforeHash;
      await ctx.waiter.waitUp({ component, nodeName: config.nodeName, notHash: beforeHash, timeoutMs });
      if (component === 'etcd') await etcdHealthy(ctx, timeoutMs);
      out.line(
        'upgrade/staticpods',
        `Component "${component}" upgraded successfully! (new pod ready and healthy after ${((performance.now() - t0) / 1000).toFixed(1)} s)`,
      );
    }
  } catch (err) {
    throw await rollback(ctx, done, current, err);
  }
}

async function renewComponentCerts(ctx: ControlPlaneContext, component: ComponentName): Promise<void> {
  const external = ctx.config.cluster.etcd.external !== undefined;
  const wanted = COMPONENT_CERTS[component].filter((n) => !(external && n === 'apiserver-etcd-client'));
  const targets = renewTargets(external).filter((t) => wanted.includes(t.name));
  const opts = {
    pkiDir: ctx.config.paths.pkiDir,
    kubernetesDir: ctx.config.paths.kubernetesDir,
    certificateValidityMs: ctx.config.certificateValidityMs,
    start: new Date(),
  };
  for (const t of targets) {
    ctx.out.line('upgrade/staticpods', `Renewing ${t.name} certificate`);
    const o = await renewOne(ctx.host, t, opts);
    if (o.status === 'external') ctx.out.line('upgrade/staticpods', `External CA detected, ${t.name} certificate can't be renewed`);
  }
}

async function withEtcd<T>(ctx: ControlPlaneContext, fn: (c: EtcdClient) => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const client = etcdClient(LOCAL_ETCD, await readEtcdTls(ctx.host, ctx.config.paths.pkiDir), { timeoutMs });
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

/** A snapshot through etcd's API (consistent, restorable with etcdutl) and a copy of the data dir (what a rollback puts back). */
async function backupEtcd(ctx: ControlPlaneContext): Promise<void> {
  const { host, out, paths, config } = ctx;
  const snapshot = posix.join(paths.backupEtcdDir, 'snapshot.db');
  const chunks: Buffer[] = [];
  // in memory, then one atomic write through Host: etcd's backend is bounded by its quota (2 GiB by default)
  const size = await withEtcd(ctx, (c) => c.snapshot((b) => void chunks.push(b)), 60_000).catch((err: unknown) => {
    throw new HostError(`cannot take a snapshot of etcd at ${LOCAL_ETCD} before its upgrade: ${messageOf(err)}`, {
      cause: err,
      hint: 'is etcd healthy? `kubestrap ps`, `kubestrap logs etcd`; --etcd-upgrade=false skips etcd',
    });
  });
  await host.mkdir(paths.backupEtcdDir, 0o700);
  await host.writeFile(snapshot, Buffer.concat(chunks), 0o600);
  out.line('upgrade/etcd', `Saved an etcd snapshot (${size} bytes) to "${host.path(snapshot)}" (etcdutl snapshot restore can restore it)`);
  const dataCopy = posix.join(paths.backupEtcdDir, 'etcd');
  await host.copy(config.paths.etcdDataDir, dataCopy);
  out.line('upgrade/etcd', `Copied the etcd data dir "${host.path(config.paths.etcdDataDir)}" to "${host.path(dataCopy)}"`);
}

/** etcd answers Status with no errors and follows a leader. */
async function etcdHealthy(ctx: ControlPlaneContext, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const st = await withEtcd(ctx, (c) => c.status(), 3000);
      if (st.errors.length === 0 && st.leader !== '0') {
        ctx.out.line('upgrade/etcd', `etcd ${st.version} is healthy (leader ${BigInt(st.leader).toString(16)}, raft index ${st.raftIndex})`);
        return;
      }
      last = st.errors.join('; ') || 'no leader';
    } catch (err) {
      last = messageOf(err);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw await ctx.waiter.failure('etcd', ctx.config.nodeName, `is not healthy through its API: ${last}`);
}

/** Puts etcd's data dir back: its manifest away (the agent stops it), the copy in, the old manifest back by the caller. */
async function restoreEtcdData(ctx: ControlPlaneContext): Promise<void> {
  const { host, paths, config } = ctx;
  await paths.remove('etcd');
  await ctx.waiter.waitGone('etcd', config.nodeName, 120_000);
  await host.remove(config.paths.etcdDataDir, { contentsOnly: true });
  await host.copy(posix.join(paths.backupEtcdDir, 'etcd'), config.paths.etcdDataDir);
  ctx.out.line('upgrade/rollback', `Restored the etcd data dir from "${host.path(posix.join(paths.backupEtcdDir, 'etcd'))}"`);
}

/** kubeadm's rollbackOldManifests, waiting until the old versions serve again; returns the error to throw. */
async function rollback(ctx: ControlPlaneContext, done: readonly Done[], failed: ComponentName, cause: unknown): Promise<HostError> {
  const { out, paths, config, host } = ctx;
  const why = cause instanceof ComponentNotUp ? cause.details() : [`${failed}: ${messageOf(cause)}`];
  out.line('upgrade/rollback', `The upgrade of ${failed} failed: ${why[0]}`);
  const lines = [`the upgrade of ${failed} to ${config.cluster.kubernetesVersion} failed and was rolled back:`, ...why];
  if (done.length === 0) {
    lines.push(`nothing had been changed; backups (if any) are in ${host.path(paths.backupManifestDir)}`);
    return new HostError(lines.join('\n'), { cause, hint: 'fix the cause and run `kubestrap upgrade apply` again' });
  }
  const restoredNames: string[] = [];
  const problems: string[] = [];
  try {
    const etcd = done.find((d) => d.component === 'etcd');
    if (etcd?.imageChanged) await restoreEtcdData(ctx);
    for (const b of await paths.restoreAll()) {
      restoredNames.push(b.component);
      out.line('upgrade/rollback', `Restored ${host.path(paths.realManifestPath(b.component))} from ${host.path(b.backup)}`);
    }
  } catch (err) {
    problems.push(`restoring the manifests failed: ${messageOf(err)}`);
  }
  // with a manifest not put back, waiting for its old version only takes the timeout
  for (const d of problems.length > 0 ? [] : done) {
    try {
      await ctx.waiter.waitUp({ component: d.component, nodeName: config.nodeName, hash: d.beforeHash, timeoutMs: config.timeoutsMs.upgradeManifests });
      out.line('upgrade/rollback', `${d.component} runs its previous manifest again, ready and healthy`);
    } catch (err) {
      problems.push(err instanceof ComponentNotUp ? err.details().join('\n') : `${d.component}: ${messageOf(err)}`);
    }
  }
  lines.push(
    `restored: ${restoredNames.join(', ')} (their previous manifests${done.some((d) => d.component === 'etcd' && d.imageChanged) ? " and etcd's data dir" : ''})`,
  );
  lines.push(
    `backups kept in ${host.path(paths.backupManifestDir)}${done.some((d) => d.component === 'etcd') ? ` and ${host.path(paths.backupEtcdDir)}` : ''}`,
  );
  if (problems.length > 0) lines.push('the rollback did not bring everything back:', ...problems);
  else lines.push('the previous version serves again');
  return new HostError(lines.join('\n'), {
    cause,
    hint: 'fix the cause (see the log lines above) and run `kubestrap upgrade apply` again: it continues where it stopped',
  });
}
