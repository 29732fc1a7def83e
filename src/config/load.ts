// TEMP: replaced by the YAML loader in the next commit.
import { ConfigError } from '../errors.js';
import type { DeepPartial } from './merge.js';
import type { ClusterConfiguration, InitConfiguration } from './types.js';

export interface LoadedConfig {
  file: string;
  init?: DeepPartial<InitConfiguration>;
  cluster?: DeepPartial<ClusterConfiguration>;
  warnings: string[];
}

export function loadConfigFile(file: string): LoadedConfig {
  throw new ConfigError('--config is not supported yet', { file });
}
