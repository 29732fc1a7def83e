import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { V1PodList } from '@kubernetes/client-node';
import { missingBinary } from '../../src/images/binary.js';
import { psTable } from '../../src/commands/ps-table.js';
import { Host } from '../../src/host/host.js';

describe('process runtime: why a binary is missing', () => {
  const roots: string[] = [];
  after(async () => {
    for (const r of roots) await rm(r, { recursive: true, force: true });
  });

  it('names the path with the kubelet reason', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'kubestrap-binary-'));
    roots.push(root);
    const host = new Host(root);
    await mkdir(host.path('/var/lib/kubestrap/images/example/app/1'), { recursive: true });
    const notExec = path.join(root, 'not-exec');
    await writeFile(notExec, '#!/bin/sh\n');
    await chmod(notExec, 0o644);

    const noImage = await missingBinary(host, 'example/other:2', 'other', 'spec.containers[0]');
    assert.equal(noImage.reason, 'ErrImageNeverPull');
    assert.equal(noImage.field, 'spec.containers[0].image');
    assert.match(noImage.message, /^Container image "example\/other:2" is not present \(no .*images\/example\/other\/2\)/);

    const noBinary = await missingBinary(host, 'example/app:1', 'app', 'spec.containers[0]');
    assert.equal(noBinary.reason, 'CreateContainerError');
    assert.match(noBinary.message, /no executable .*images\/example\/app\/1\/app/);

    for (const [program, why] of [
      ['/no/such/bin', 'no such file'],
      [notExec, 'not executable'],
      [root, 'not a regular file'],
    ] as const) {
      const err = await missingBinary(host, 'example/app:1', program, 'spec.containers[0]');
      assert.equal(err.reason, 'CreateContainerError');
      assert.equal(err.message, `cannot execute ${program}: ${why}`);
      assert.equal(err.field, 'spec.containers[0].command');
    }
  });

  it('kubestrap ps shows the waiting reason and one error line per violation', () => {
    const list: V1PodList = {
      items: [
        {
          metadata: { namespace: 'default', name: 'web-n1' },
          spec: { containers: [{ name: 'app' }] },
          status: {
            phase: 'Pending',
            containerStatuses: [
              { name: 'app', image: 'x', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ErrImageNeverPull', message: 'm' } } },
            ],
          },
        },
      ],
    };
    const table = psTable(list, {
      kind: 'SourceErrorList',
      items: [{ source: 'file', origin: '/m/bad.yaml', message: '/m/bad.yaml: a: Required value\n/m/bad.yaml: b: Required value', since: '' }],
    });
    const lines = table.trimEnd().split('\n');
    assert.match(lines[1]!, /^default\s+web-n1\s+0\/1\s+ErrImageNeverPull\s+0\s+<unknown>$/);
    assert.deepEqual(lines.slice(2), ['error: /m/bad.yaml: a: Required value', 'error: /m/bad.yaml: b: Required value']);
  });
});
