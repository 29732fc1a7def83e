/** The data of one `kubestrap reset` run. */
import type { PhaseData } from '../data.js';

export interface ResetData extends Omit<PhaseData, 'config' | 'dryRun'> {
  force: boolean;
  certificatesDir: string;
  /** Where to ask for confirmation (tests pass a stream). */
  input: NodeJS.ReadableStream & { isTTY?: boolean };
}
