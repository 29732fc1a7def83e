/** Types of eslint/layers.js, for the rule's unit test (test/unit/lint-layers.test.ts). */
import type { ESLint } from 'eslint';

export interface Layer {
  name: string;
  paths: string[];
  uses: string[];
}
export const LAYERS: Layer[];
export const AGENT_ENTRY: string;
export function violation(from: string, to: string): string | undefined;
export const layersPlugin: ESLint.Plugin;
