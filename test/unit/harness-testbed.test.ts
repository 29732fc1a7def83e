/** Pure parts of the test bed harness: mountinfo parsing and node-name validation. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mountPointsUnder } from '../support/mounts.js';
import { startTestbed } from '../support/testbed.js';

test('mountPointsUnder: the dir and below, deepest first, escapes decoded, no prefix look-alikes', () => {
  const info = [
    '36 25 0:31 / /tmp/bed rw - tmpfs tmpfs rw',
    '37 36 0:32 / /tmp/bed/n1/rootfs/a\\040b rw - overlay overlay rw',
    '38 36 0:33 / /tmp/bed/n1 rw - tmpfs tmpfs rw',
    '39 25 0:34 / /tmp/bed2 rw - tmpfs tmpfs rw',
    '',
  ].join('\n');
  assert.deepEqual(mountPointsUnder(info, '/tmp/bed'), ['/tmp/bed/n1/rootfs/a b', '/tmp/bed/n1', '/tmp/bed']);
});

test('startTestbed rejects bad node names before creating anything', async () => {
  if (process.getuid?.() !== 0) {
    await assert.rejects(startTestbed({ nodes: ['a'] }), /needs root/);
    return;
  }
  await assert.rejects(startTestbed({ nodes: ['Bad_Name'] }), /"Bad_Name" must be 1-8 lowercase letters or digits/);
  await assert.rejects(startTestbed({ nodes: ['a', 'a'] }), /duplicate names/);
  await assert.rejects(startTestbed({ nodes: [] }), /give 1 to 200 node names/);
});
