/**
 * `kubestrap upgrade apply` on a one-node cluster of the previous minor, shared by the runtimes'
 * e2e tests: `upgrade diff` and `apply --dry-run` show the manifest changes and change nothing; a
 * broken target (a kube-apiserver of the target tag that exits 1) makes apply fail, roll back and
 * say so — the component named with its agent status and last log lines, what was restored, where
 * the backups are — while the old version serves again; with the target fixed, a rerun of the same
 * command upgrades all four components (new mirror config.hash, the target's images, `kubectl
 * version`), records the version in kubeadm-config, and the API's unavailable time is printed;
 * `upgrade node` on the upgraded node then finds nothing to change; reset leaves nothing.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { TestContext } from 'node:test';
import type { V1ConfigMap, V1Pod, V1PodList } from '@kubernetes/client-node';
import { DEFAULT_IMAGE_REPOSITORY, type KubernetesRelease } from '../../src/config/versions.js';
import { CONTROL_PLANE, kubectlJson, kubestrap, leftovers, type ControlPlaneComponent } from './init-e2e.js';
import type { RunningContainer } from './init-scenario.js';
import { waitFor } from './proc.js';
import { initAtUpgradeFrom, Unavailability, UPGRADE_FROM, UPGRADE_TO } from './upgrade-scenario.js';

export interface ApplyInput {
  rootfs: string;
  node: string;
  runtimeFlags: readonly string[];
  container(name: ControlPlaneComponent): Promise<RunningContainer | undefined>;
  /** Makes the target's images present, but the kube-apiserver one a program that logs `brokenLine` and exits 1. */
  provideBrokenTarget(): Promise<void>;
  /** A line the broken kube-apiserver logs (the failure must show it). */
  brokenLine: string;
  /** The real kube-apiserver of the target in its place. */
  fixTarget(): Promise<void>;
}

const HASH = 'kubernetes.io/config.hash';

function imageOf(component: ControlPlaneComponent, release: KubernetesRelease): string {
  return `${DEFAULT_IMAGE_REPOSITORY}/${component}:${component === 'etcd' ? release.etcdImageTag : release.version}`;
}

export async function applyScenario(t: TestContext, input: ApplyInput): Promise<void> {
  const { rootfs, node } = input;
  const [from, to] = [UPGRADE_FROM, UPGRADE_TO];
  const { admin, manifests, serverVersion } = await initAtUpgradeFrom(input);
  const mirrors = async (): Promise<Map<string, V1Pod>> => {
    const list = await kubectlJson<V1PodList>(admin, ['get', 'pods', '-n', 'kube-system']).catch(() => ({ items: [] as V1Pod[] }));
    return new Map(CONTROL_PLANE.map((c) => [c, list.items.find((p) => p.metadata?.name === `${c}-${node}`)!] as const).filter(([, p]) => p));
  };
  const allAt = async (release: KubernetesRelease): Promise<Map<string, V1Pod> | undefined> => {
    const m = await mirrors();
    const ok = CONTROL_PLANE.every((c) => {
      const p = m.get(c);
      return p?.spec?.containers[0]?.image === imageOf(c, release) && p.status?.phase === 'Running' && p.status.containerStatuses?.every((s) => s.ready);
    });
    return ok ? m : undefined;
  };
  const before = await waitFor(`four mirror pods at ${from.version}, Ready`, () => allAt(from), 120_000, 500);
  assert.equal(await serverVersion(), from.version);
  const manifestText = async (): Promise<string[]> => Promise.all(CONTROL_PLANE.map((c) => readFile(path.join(manifests, `${c}.yaml`), 'utf8')));
  const original = await manifestText();

  // --- diff and dry run: every component changes, nothing is written
  const diff = await kubestrap(['upgrade', 'diff', to.version, '--rootfs', rootfs], 60_000);
  assert.equal(diff.code, 0, `upgrade diff failed:\n${diff.stderr}\n${diff.stdout}`);
  for (const c of CONTROL_PLANE)
    assert.match(diff.stdout, new RegExp(`^\\+\\s+image: ${imageOf(c, to).replace(/\./g, '\\.')}$`, 'm'), `the diff shows ${c}'s new image`);
  t.diagnostic(
    `kubestrap upgrade diff ${to.version} (kube-apiserver part):\n${diff.stdout.slice(diff.stdout.indexOf('kube-apiserver.yaml') - 4, diff.stdout.indexOf('kube-apiserver.yaml') + 900)}`,
  );
  const dry = await kubestrap(['upgrade', 'apply', to.version, '--dry-run', '--rootfs', rootfs], 120_000);
  assert.equal(dry.code, 0, `apply --dry-run failed:\n${dry.stderr}\n${dry.stdout}`);
  assert.match(dry.stdout, /Finished dryrunning successfully/);
  assert.deepEqual(await manifestText(), original, '--dry-run writes no manifest');
  assert.ok(!(await readdir(path.join(rootfs, 'etc/kubernetes'))).includes('tmp'), '--dry-run makes no backup');

  // --- a broken target: apply fails at kube-apiserver, rolls back, the old version serves again
  await input.provideBrokenTarget();
  let t0 = performance.now();
  const broken = await kubestrap(['upgrade', 'apply', to.version, '--yes', '--rootfs', rootfs], 15 * 60_000);
  const brokenMs = Math.round(performance.now() - t0);
  t.diagnostic(
    `apply with a broken kube-apiserver: exit ${broken.code} after ${brokenMs} ms\nstdout:\n${broken.stdout.trim()}\nstderr:\n${broken.stderr.trim()}`,
  );
  assert.equal(broken.code, 1, 'apply fails');
  assert.match(broken.stderr, /the upgrade of kube-apiserver to v1\.37\.\d+ failed and was rolled back/);
  assert.match(broken.stderr, /agent status: .*restarts \d+, last exit code 1/);
  assert.ok(broken.stderr.includes(input.brokenLine), 'the message shows the last log lines of the component');
  assert.match(broken.stderr, /restored: etcd, kube-apiserver/);
  const backupDir = /backups kept in (\S+?kubestrap-backup-manifests-[\d-]+)/.exec(broken.stderr)?.[1];
  assert.ok(backupDir, 'the message says where the backups are');
  assert.deepEqual((await readdir(backupDir)).sort(), ['etcd.yaml', 'kube-apiserver.yaml']);
  assert.equal(await readFile(path.join(backupDir, 'kube-apiserver.yaml'), 'utf8'), original[1]);
  assert.match(broken.stderr, /the previous version serves again/);
  assert.match(broken.stdout, /Saved an etcd snapshot \(\d+ bytes\)/);
  assert.deepEqual(await manifestText(), original, 'every manifest is the old one again');
  const restored = await waitFor(`four mirror pods back at ${from.version}`, () => allAt(from), 120_000, 500);
  assert.equal(await serverVersion(), from.version, 'the old version serves again');
  // the rollback puts back the old manifests: etcd and the API server run their old hashes again
  for (const c of CONTROL_PLANE)
    assert.equal(restored.get(c)?.metadata?.annotations?.[HASH], before.get(c)?.metadata?.annotations?.[HASH], `${c} runs its old manifest`);

  // --- the target fixed: the same command continues and upgrades everything
  await input.fixTarget();
  const down = new Unavailability();
  t0 = performance.now();
  const ok = await kubestrap(['upgrade', 'apply', to.version, '--yes', '--rootfs', rootfs], 15 * 60_000);
  const applyMs = Math.round(performance.now() - t0);
  const d = await down.stop();
  t.diagnostic(`kubestrap upgrade apply ${to.version} --yes: exit ${ok.code} after ${applyMs} ms\n${ok.stdout.trim()}\n${ok.stderr.trim()}`);
  assert.equal(ok.code, 0, `apply failed:\n${ok.stderr}`);
  t.diagnostic(
    `upgrade apply ${from.version} → ${to.version}: API unavailable ${d.totalMs} ms in all (longest ${d.longestMs} ms, ${d.outages} outage(s), /readyz polled ${down.polls} times)`,
  );
  const after = await waitFor(`four mirror pods at ${to.version}, Ready`, () => allAt(to), 120_000, 500);
  for (const c of CONTROL_PLANE) {
    const [h0, h1] = [before.get(c)?.metadata?.annotations?.[HASH], after.get(c)?.metadata?.annotations?.[HASH]];
    assert.notEqual(h1, h0, `${c}'s config.hash changed`);
    t.diagnostic(`${c}: ${imageOf(c, from)} → ${after.get(c)?.spec?.containers[0]?.image}, config.hash ${h0} → ${h1}`);
    assert.ok(await input.container(c), `${c} runs`);
  }
  assert.equal(await serverVersion(), to.version);
  const cm = await kubectlJson<V1ConfigMap>(admin, ['get', 'cm', '-n', 'kube-system', 'kubeadm-config']);
  assert.match(cm.data?.ClusterConfiguration ?? '', new RegExp(`kubernetesVersion: ${to.version.replace(/\./g, '\\.')}`), 'kubeadm-config records the target');
  assert.match(ok.stdout, /SUCCESS! A control plane node of your cluster was upgraded to "v1\.37/);

  // --- a rerun and `upgrade node` find nothing to change
  const node2 = await kubestrap(['upgrade', 'node', '--rootfs', rootfs], 5 * 60_000);
  assert.equal(node2.code, 0, `upgrade node failed:\n${node2.stderr}\n${node2.stdout}`);
  for (const c of CONTROL_PLANE) assert.match(node2.stdout, new RegExp(`Current and new manifests of ${c} are equal, skipping upgrade`));
  assert.match(node2.stdout, /runs the kubestrap agent, not a kubelet/);

  const reset = await kubestrap(['reset', '--force', '--rootfs', rootfs]);
  assert.equal(reset.code, 0, reset.stderr);
  assert.deepEqual(await leftovers(rootfs), []);
}
