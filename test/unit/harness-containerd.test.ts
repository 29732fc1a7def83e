/** The test harness' containerd choice: version lines of both containerds, $KUBESTRAP_CONTAINERD, the config format by major. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CONTAINERD_ENV, suiteContainerd } from '../support/components.js';
import { configV2, configV3, containerdMajor } from '../support/containerd.js';

test('containerdMajor reads Debian 1.x and the built 2.x version lines', () => {
  assert.equal(containerdMajor('containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+deb12u3'), 1);
  assert.equal(containerdMajor('containerd github.com/containerd/containerd/v2 v2.4.2'), 2);
  assert.throws(() => containerdMajor('containerd'), /cannot parse containerd version/);
});

test('KUBESTRAP_CONTAINERD: 1 by default, 1 or 2, anything else one line naming the variable', (t) => {
  const saved = process.env[CONTAINERD_ENV];
  t.after(() => {
    if (saved === undefined) delete process.env[CONTAINERD_ENV];
    else process.env[CONTAINERD_ENV] = saved;
  });
  delete process.env[CONTAINERD_ENV];
  assert.equal(suiteContainerd(), 1);
  for (const [value, want] of [
    ['1', 1],
    [' 2 ', 2],
    ['', 1],
  ] as const) {
    process.env[CONTAINERD_ENV] = value;
    assert.equal(suiteContainerd(), want, value);
  }
  process.env[CONTAINERD_ENV] = '2.4';
  assert.throws(() => suiteContainerd(), /^Error: KUBESTRAP_CONTAINERD=2\.4: use 1 .* or 2 /);
});

test('config format 2 for 1.x and 3 for 2.x, both with the settings this machine needs', () => {
  const input = {
    dir: '/tmp/c',
    socket: '/tmp/c/s.sock',
    sandboxImage: 'registry.k8s.io/pause:3.10.2',
    snapshotter: 'native' as const,
    runcPath: '/usr/sbin/runc',
  };
  const v2 = configV2(input);
  const v3 = configV3(input);
  assert.match(v2, /^version = 2\n/);
  assert.match(v3, /^version = 3\n/);
  for (const config of [v2, v3]) {
    assert.match(config, /restrict_oom_score_adj = true/);
    assert.match(config, /BinaryName = "\/usr\/sbin\/runc"/);
    assert.match(config, /SystemdCgroup = false/);
  }
  assert.match(v2, /sandbox_image = "registry\.k8s\.io\/pause:3\.10\.2"/);
  assert.match(v3, /\[plugins\."io\.containerd\.cri\.v1\.images"\.pinned_images\]\n\s+sandbox = "registry\.k8s\.io\/pause:3\.10\.2"/);
  assert.ok(!v3.includes('io.containerd.grpc.v1.cri".containerd'), '2.x has no runtimes under the old CRI plugin');
});
