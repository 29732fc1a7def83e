/**
 * The kubelet's `io.kubernetes.container.hash` annotation, so tools that read it (and an admin comparing
 * with a kubelet node) see the same value. Since Kubernetes 1.31 the hash covers only name and image:
 * FNV-32a over go-spew's `%#v` dump of the JSON of `{"image":…,"name":…}` (kubecontainer.HashContainer).
 */

/** Go's encoding/json escapes these in strings; JSON.stringify does not. */
const GO_JSON_ESCAPES: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};

function goJsonString(value: string): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => GO_JSON_ESCAPES[c] ?? c);
}

function fnv32a(data: Uint8Array): number {
  let hash = 0x811c9dc5;
  for (const byte of data) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** Hex hash of a container as the kubelet writes it (no leading zeros, like strconv.FormatUint(h, 16)). */
export function hashContainer(name: string, image: string): string {
  // Keys sorted, as Go marshals a map.
  const json = Buffer.from(`{"image":${goJsonString(image)},"name":${goJsonString(name)}}`, 'utf8');
  // spew prints a []byte as `([]uint8)[b0 b1 …]` in decimal.
  const dumped = `([]uint8)[${Array.from(json).join(' ')}]`;
  return fnv32a(Buffer.from(dumped, 'utf8')).toString(16);
}
