/** The agent's TLS bootstrap and client certificate rotation (loaded only with --bootstrap-kubeconfig). */
export { kubeconfigProblem, loadBootstrapKubeconfig } from './bootstrap.js';
export { NodeCredentials } from './credentials.js';
