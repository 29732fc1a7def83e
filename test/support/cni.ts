/**
 * Pod networking for a test bed node: a CNI `bridge` + `host-local` network (Debian's
 * containernetworking-plugins) on the node's pod CIDR, written into the node's containerd CNI dirs.
 * The bridge (`cni0`, inside the node's namespace) is the pods' gateway; the bed's routes carry pod
 * traffic between nodes. No masquerade and no portmap: they need iptables, and nothing leaves the bed.
 */
import { readdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { components } from './components.js';
import { removeCreatedHostPathsOnStop, type Testbed, type TestbedNode } from './testbed.js';

export const POD_NETWORK_NAME = 'ks-pods';

/** The node's CNI network config list (CNI spec 1.0.0). */
export function podNetworkConflist(node: TestbedNode): object {
  const [network] = node.podCidr.split('/');
  const gateway = network!.replace(/\.0$/, '.1');
  return {
    cniVersion: '1.0.0',
    name: POD_NETWORK_NAME,
    plugins: [
      {
        type: 'bridge',
        bridge: 'cni0',
        isGateway: true,
        ipMasq: false,
        hairpinMode: true,
        ipam: {
          type: 'host-local',
          ranges: [[{ subnet: node.podCidr, gateway }]],
          routes: [{ dst: '0.0.0.0/0' }],
          // the default (/var/lib/cni/networks) is the host's and shared by every node
          dataDir: path.join(node.dir, 'cni', 'ipam'),
        },
      },
    ],
  };
}

/** libcni's result cache: containerd's CRI does not move it (go-cni default), so every node shares it. */
const CNI_CACHE_DIRS = ['/var/lib/cni', '/var/lib/cni/results'] as const;
const registered = new WeakSet<Testbed>();

/** Writes the pod network into the node's containerd (which picks it up without a restart). */
export async function enablePodNetwork(bed: Testbed, node: TestbedNode): Promise<void> {
  if (!registered.has(bed)) {
    registered.add(bed);
    removeCreatedHostPathsOnStop(bed, CNI_CACHE_DIRS);
  }
  const ctrd = node.containerd;
  if (!ctrd) throw new Error(`node ${node.name}: pod networking needs the node's containerd (startTestbed({ containerd: true }))`);
  const pluginDir = components().cniPlugins.path;
  const binDir = path.join(ctrd.dir, 'cni', 'bin');
  // containerd's CNI bin dir is its own (empty) one: link the plugins in rather than pointing it at /usr/lib/cni
  for (const plugin of await readdir(pluginDir)) await symlink(path.join(pluginDir, plugin), path.join(binDir, plugin)).catch(() => undefined);
  await writeFile(path.join(ctrd.dir, 'cni', 'net.d', `10-${POD_NETWORK_NAME}.conflist`), `${JSON.stringify(podNetworkConflist(node), null, 2)}\n`);
}
