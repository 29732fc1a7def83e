import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { resolveJoinConfig } from '../../src/config/join.js';
import { PreflightError } from '../../src/errors.js';
import { Host } from '../../src/host/host.js';
import { memoryPrinter } from '../../src/output.js';
import { JoinData } from '../../src/phases/join/data.js';
import { kubeletSkewError, runJoinPreflight, type JoinFacts } from '../../src/phases/join/preflight.js';

describe('kubelet version skew (upstream policy: up to 3 minors older, never newer)', () => {
  for (const [kubelet, cp, ok] of [
    ['v1.37.2', 'v1.37.0', true],
    ['v1.34.9', 'v1.37.2', true],
    ['v1.33.0', 'v1.37.2', false],
    ['v1.38.0', 'v1.37.2', false],
    ['v2.0.0', 'v1.37.2', false],
  ] as const) {
    it(`kubelet ${kubelet} against a ${cp} control plane: ${ok ? 'fine' : 'refused'}`, () => {
      const problem = kubeletSkewError(kubelet, cp);
      assert.equal(problem === undefined, ok, problem);
    });
  }
  it('says which way it is wrong', () => {
    assert.match(kubeletSkewError('v1.38.0', 'v1.37.2')!, /higher than the control plane version/);
    assert.match(kubeletSkewError('v1.33.0', 'v1.37.2')!, /more than 3 minor versions older/);
  });
});

describe('join preflight (kubeadm check names, --ignore-preflight-errors)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'join-preflight-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const socket = path.join(dir, 'cri.sock');
  writeFileSync(socket, '');
  const kubelet = path.join(dir, 'kubelet');
  writeFileSync(kubelet, '#!/bin/sh\n', { mode: 0o755 });

  const facts = (version = 'Kubernetes v1.37.2'): JoinFacts => ({ uid: () => 0, swaps: async () => [], kubeletVersion: async () => version });
  // Port-10250 is the machine's: other tests may hold it
  const data = (rootfs: string, ignore?: string): JoinData & { out: ReturnType<typeof memoryPrinter> } => {
    const config = resolveJoinConfig(
      {
        nodeName: 'w1',
        token: 'abcdef.0123456789abcdef',
        discoveryTokenUnsafeSkipCaVerification: true,
        criSocket: `unix://${socket}`,
        kubeletPath: kubelet,
        ignorePreflightErrors: ['Port-10250', ignore].filter(Boolean).join(','),
      },
      ['127.0.0.1:6443'],
      () => undefined,
    );
    const ctx = new JoinData({ config, host: new Host(rootfs), out: memoryPrinter(), dryRun: false });
    // the control plane's version without a cluster: what discovery + kubeadm-config would say
    ctx.controlPlaneVersion = async () => 'v1.37.2';
    return ctx;
  };

  it('a fresh node passes; a kubelet newer than the control plane fails KubeletVersion', async () => {
    const root = path.join(dir, 'fresh');
    mkdirSync(root);
    await runJoinPreflight(data(root), facts());
    await assert.rejects(
      runJoinPreflight(data(root), facts('Kubernetes v1.38.0')),
      (err: unknown) => err instanceof PreflightError && /KubeletVersion/.test(err.message),
    );
  });

  it('a joined node (kubelet.conf, ca.crt) fails the FileAvailable checks before any discovery; ignoring them by name demotes them', async () => {
    const root = path.join(dir, 'joined');
    mkdirSync(path.join(root, 'etc/kubernetes/pki'), { recursive: true });
    writeFileSync(path.join(root, 'etc/kubernetes/kubelet.conf'), '');
    writeFileSync(path.join(root, 'etc/kubernetes/pki/ca.crt'), '');
    const ctx = data(root);
    let asked = false;
    ctx.controlPlaneVersion = async () => {
      asked = true;
      return 'v1.37.2';
    };
    await assert.rejects(runJoinPreflight(ctx, facts()), (err: unknown) => {
      assert.ok(err instanceof PreflightError);
      assert.match(err.message, /FileAvailable--etc-kubernetes-kubelet.conf, FileAvailable--etc-kubernetes-pki-ca.crt/);
      return true;
    });
    assert.equal(asked, false, 'no discovery when the local checks fail');
    const ignoring = data(root, 'FileAvailable--etc-kubernetes-kubelet.conf,fileavailable--etc-kubernetes-pki-ca.crt');
    await runJoinPreflight(ignoring, facts());
    assert.ok(ignoring.out.lines.some((l) => l.includes('[WARNING FileAvailable--etc-kubernetes-kubelet.conf]')));
  });
});
