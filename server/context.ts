import type { ServerConfig } from './config.ts';
import type { SeqserveError } from './core/errors.ts';
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
  /**
   * The streams open now (server-sent events, gRPC server and bidirectional streams), each as a
   * function that ends it with an error: at the end of the shutdown grace period they end with
   * `unavailable` (an error event, gRPC UNAVAILABLE: clients retry elsewhere) before the connections close.
   */
  openStreams?: Set<StreamEnder>;
}

/** Ends one open stream with `err` (written to the client as the stream's last event or status). */
export type StreamEnder = (err: SeqserveError) => void;

export const SERVER_NAME = 'seqserve';
export const SERVER_VERSION = '0.1.0';
export const KSERVE_EXTENSIONS = ['binary_tensor_data', 'model_repository', 'health', 'metrics', 'statistics'] as const;
