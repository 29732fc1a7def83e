/** Every top-level command; each module registers its own subcommands. */
import type { Command } from 'commander';
import { registerAgent } from './agent.js';
import { registerCerts } from './certs.js';
import { registerCompletion } from './completion.js';
import { registerConfig } from './config.js';
import { registerInit } from './init.js';
import { registerJoin } from './join.js';
import { registerKubeconfig } from './kubeconfig-user.js';
import { registerLb } from './lb.js';
import { registerLogs } from './logs.js';
import { registerReset } from './reset.js';
import { registerSupervise } from './supervise.js';
import { registerToken } from './token.js';
import { registerUpgrade } from './upgrade.js';
import { registerVersion } from './version.js';

export type RegisterCommand = (program: Command) => void;

export const COMMANDS: readonly RegisterCommand[] = [
  registerInit,
  registerJoin,
  registerConfig,
  registerAgent,
  registerCerts,
  registerKubeconfig,
  registerLb,
  registerLogs,
  registerReset,
  registerToken,
  registerUpgrade,
  registerVersion,
  registerCompletion,
  registerSupervise,
];
