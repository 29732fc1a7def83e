/** Runtime version strings as CRI runtimes report them, and the out-of-support containerd warning. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { containerdSupportWarning, parseRuntimeVersion } from '../../src/cri/runtime-version.js';

test('parseRuntimeVersion: upstream, distribution and pre-release spellings', () => {
  const cases: [string, ReturnType<typeof parseRuntimeVersion>][] = [
    ['v2.4.2', { major: 2, minor: 4, patch: 2 }],
    ['1.6.20~ds1', { major: 1, minor: 6, patch: 20 }], // Debian 12
    ['1.7.24-0ubuntu1~24.04.2', { major: 1, minor: 7, patch: 24 }],
    ['2.0.0-rc.1', { major: 2, minor: 0, patch: 0 }],
    [' v1.7 ', { major: 1, minor: 7, patch: 0 }],
    ['', undefined],
    ['unknown', undefined],
    ['devel-2.1', undefined],
  ];
  for (const [text, want] of cases) assert.deepEqual(parseRuntimeVersion(text), want, text);
});

test('containerdSupportWarning: containerd 1.x only, one line naming the version and what to do', () => {
  assert.equal(
    containerdSupportWarning({ runtimeName: 'containerd', runtimeVersion: '1.6.20~ds1' }),
    'containerd 1.6.20~ds1 is out of support; the kubelet drops containerd 1.x in v1.38: upgrade to containerd 2.x',
  );
  assert.equal(
    containerdSupportWarning({ runtimeName: 'containerd', runtimeVersion: 'v1.7.24' }),
    'containerd 1.7.24 is out of support; the kubelet drops containerd 1.x in v1.38: upgrade to containerd 2.x',
  );
  for (const runtimeVersion of ['v2.0.0', 'v2.4.2', '3.0.0', 'garbage']) {
    assert.equal(containerdSupportWarning({ runtimeName: 'containerd', runtimeVersion }), undefined, runtimeVersion);
  }
  assert.equal(containerdSupportWarning({ runtimeName: 'cri-o', runtimeVersion: '1.6.0' }), undefined);
});
