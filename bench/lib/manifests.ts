/** The static pod manifests the agent benchmarks write. */

/**
 * A hostNetwork pod with one container (short grace: the bench stops thousands of them). A
 * `generation` annotation makes an edit that changes nothing but the pod's hash (a new static pod).
 */
export function hostPod(name: string, container: string, generation?: number): string {
  const annotations = generation === undefined ? '' : `  annotations:\n    bench/generation: "${generation}"\n`;
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: kube-system
${annotations}spec:
  hostNetwork: true
  terminationGracePeriodSeconds: 2
  containers:
${container}`;
}

/** Process runtime: `sleep <token>`, so the bench can find its own processes by their argument. */
export function processPod(name: string, token: string): string {
  return hostPod(name, `  - name: main\n    image: busybox:1.36\n    command: [sleep, "${token}"]\n`);
}

export function criPod(name: string, image: string, generation?: number): string {
  return hostPod(name, `  - name: pause\n    image: ${image}\n    imagePullPolicy: IfNotPresent\n`, generation);
}
