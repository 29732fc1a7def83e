// Placeholder: replaced by the real phase.
import type { Phase } from './workflow.js';
import type { InitContext } from './context.js';

export const preflightPhase: Phase<InitContext> = {
  name: 'preflight',
  help: 'Run pre-flight checks',
};
