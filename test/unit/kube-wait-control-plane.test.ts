import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describePod, probeURL } from '../../src/phases/init/wait-control-plane.js';

describe('wait-control-plane endpoints', () => {
  it("reads etcd's probe with a named port, as 1.34 manifests declare it", () => {
    const url = probeURL(
      {
        spec: {
          containers: [
            {
              name: 'etcd',
              ports: [{ name: 'probe-port', containerPort: 2381 }],
              readinessProbe: { httpGet: { host: '127.0.0.1', port: 'probe-port', path: '/readyz', scheme: 'HTTP' } },
            },
          ],
        },
      },
      'fallback',
    );
    assert.equal(url, 'http://127.0.0.1:2381/readyz');
    assert.equal(probeURL(undefined, 'fallback'), 'fallback');
  });
  it('describes an unhealthy pod with restarts and the last exit code', () => {
    const lines = describePod({
      metadata: { name: 'kube-apiserver-cp1', namespace: 'kube-system' },
      status: {
        phase: 'Running',
        containerStatuses: [
          {
            name: 'kube-apiserver',
            image: 'i',
            imageID: '',
            ready: false,
            restartCount: 3,
            state: { waiting: { reason: 'CrashLoopBackOff' } },
            lastState: { terminated: { exitCode: 1, reason: 'Error' } },
          },
        ],
        conditions: [{ type: 'Ready', status: 'False', message: 'Startup probe failed: connection refused' }],
      },
    });
    assert.match(lines.join('\n'), /waiting \(CrashLoopBackOff\), ready=false, restarts=3, last exit code 1 \(Error\)/);
    assert.match(lines.join('\n'), /Startup probe failed/);
  });
});
