/**
 * init-cri.test.ts again, on containerd 2.x: the harness' build (test/support/containerd/), run
 * with the format-version-3 config startContainerd() writes for it; no containerd warning expected.
 */
import { CONTAINERD_ENV } from '../support/components.js';

process.env[CONTAINERD_ENV] = '2';
await import('./init-cri.test.js');
