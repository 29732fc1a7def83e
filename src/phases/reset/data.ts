/** The data of one `kubestrap reset` run. */
import type { PhaseData } from '../data.js';
import type { Systemctl } from '../node-service.js';

export interface ResetData extends Omit<PhaseData, 'config' | 'dryRun'> {
  force: boolean;
  certificatesDir: string;
  /** Where to ask for confirmation (tests pass a stream). */
  input: NodeJS.ReadableStream & { isTTY?: boolean };
  /** systemctl seam for the units join made (tests record the calls). */
  systemctl?: Systemctl;
}
