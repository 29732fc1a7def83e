/**
 * Issue 13, "survive a lost node", with w1's node-local balancer (no load-balancer namespace) as the API endpoint: three
 * control planes and w1; cp1 killed and cut off; the API through the balancer answers again within
 * seconds, a Deployment scales, the controller-manager and scheduler Leases move; cp1 back: its etcd
 * member catches up, its mirror pods run. The scenario is test/support/lose-node.ts; the figures it
 * prints are the ones docs/networking.md quotes.
 */
import { loseNodeTest } from '../support/lose-node.js';

loseNodeTest('node-local');
