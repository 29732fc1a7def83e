/** Which host directories the process runtime shadows in a container's namespace, and how. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMountPoints } from '../../src/host/mountinfo.js';
import { planShadows, shadowScript } from '../../src/agent/runtime/process/shadow.js';

const MOUNTS = ['/', '/proc', '/sys', '/dev', '/dev/pts', '/etc/hosts', '/var/lib/docker', '/var/lib/docker/overlay2/x/merged', '/srv/data'];

test('one shadow per directory, parents first; a deeper one only across a mount boundary', () => {
  const shadows = planShadows(['/var/lib', '/etc', '/etc', '/etc/ssl', '/var/lib/docker/volumes', '/srv/data/x'], MOUNTS);
  assert.deepEqual(shadows, [
    { dir: '/etc', submounts: ['hosts'] },
    { dir: '/var/lib', submounts: ['docker'] },
    // /var/lib/docker is its own mount, put back as the host has it: creating in it needs another shadow
    { dir: '/srv/data/x', submounts: [] },
    { dir: '/var/lib/docker/volumes', submounts: [] },
  ]);
});

test('a shadowed mount point itself gets its own shadow; outermost submounts only', () => {
  assert.deepEqual(planShadows(['/var/lib/docker', '/var/lib'], MOUNTS), [
    { dir: '/var/lib', submounts: ['docker'] },
    { dir: '/var/lib/docker', submounts: ['overlay2/x/merged'] },
  ]);
});

test('mountinfo mount points with octal escapes', () => {
  const text = [
    '27 1 254:0 / / rw,relatime - ext4 /dev/vda rw',
    '90 27 0:50 / /mnt/with\\040space rw - tmpfs tmpfs rw',
    '91 27 0:51 / /mnt/back\\134slash rw - tmpfs tmpfs rw',
    '',
  ].join('\n');
  assert.deepEqual(parseMountPoints(text), ['/', '/mnt/with space', '/mnt/back\\slash']);
});

test('overlay first with the tmpfs shadow as fallback; submounts put back from the kept lower view', () => {
  const script = shadowScript([{ dir: "/etc/o'dd", submounts: ['hosts'] }]).join('\n');
  assert.match(script, /mount --rbind '\/etc\/o'\\''dd' lower/);
  assert.match(
    script,
    /if mount -t overlay kubestrap-overlay -o lowerdir=lower,upperdir=upper,workdir=work '\/etc\/o'\\''dd' 2>\/dev\/null; then\n  mount -c --rbind '\/proc\/self\/cwd\/lower\/hosts' '\/etc\/o'\\''dd\/hosts'\nelse kubestrap_tmpfs_shadow \/proc\/self\/cwd\/lower '\/etc\/o'\\''dd'; fi/,
  );
  const fallback = shadowScript([{ dir: '/etc', submounts: [] }], { overlay: false }).join('\n');
  assert.doesNotMatch(fallback, /overlay/);
  assert.match(fallback, /kubestrap_tmpfs_shadow \/proc\/self\/cwd\/lower '\/etc'/);
});
