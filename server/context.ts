import type { ServerConfig } from './config.ts';
import type { Admission } from './runtime/admission.ts';
import type { Logger } from './observability/logger.ts';
import type { Metrics } from './observability/metrics.ts';
import type { ModelRepository } from './runtime/model-repository.ts';
import type { SessionFactory } from './runtime/session-factory.ts';

/** What every transport needs: the models, configuration, metrics and the logger. */
export interface ServerContext {
  config: ServerConfig;
  repository: ModelRepository;
  sessions: SessionFactory;
  metrics: Metrics;
  /** Per-model limits on requests and streams open at once. */
  admission: Admission;
  log: Logger;
  /** False while starting and shutting down. */
  ready: () => boolean;
}

export const SERVER_NAME = 'seqserve';
export const SERVER_VERSION = '0.1.0';
export const KSERVE_EXTENSIONS = ['binary_tensor_data', 'model_repository', 'health', 'metrics', 'statistics'] as const;
