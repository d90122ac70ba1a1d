import path from 'node:path';
import { DEFAULT_MAX_AXIS_LENGTH } from './core/feed-check.ts';
import { PROJECT_ROOT } from './project-root.ts';
import { DEFAULT_RUNTIME_OPTIONS, type RuntimeOptions } from './runtime/session-factory.ts';
import type { RunQueueOptions } from './runtime/run-queue.ts';
import { DEFAULT_DYNAMIC_BATCHING, type DynamicBatchingDefaults } from './runtime/batched-graph.ts';
import type { ApiKey } from './security/api-keys.ts';

export const BUNDLED_MODELS_DIR = path.join(PROJECT_ROOT, 'models');

export interface Limits {
  /** Largest request body accepted over HTTP, and largest gRPC message. */
  maxBodyBytes: number;
  /** Largest number of elements in one KServe input tensor. */
  maxTensorElements: number;
  /**
   * Longest symbolic input axis of a graph whose manifest (`graphs.<g>.maxShapes`) and task do not
   * bound it (0: unbounded). Checked on every run, KServe's and the task endpoints'.
   */
  maxAxisLength: number;
  /** Longest text accepted by text endpoints, in characters. */
  maxTextChars: number;
  /** Longest audio accepted in one request, in seconds. */
  maxAudioSeconds: number;
  /** Longest audio in one recognition stream, in seconds (then OUT_OF_RANGE). */
  maxStreamSeconds: number;
  /** Largest audio_content of one streaming request (Google's limit is 25 KB). */
  maxAudioMessageBytes: number;
  /** Largest image accepted (width x height), checked before its pixels are decoded. */
  maxImagePixels: number;
  /** Requests (one response each) running at once per model; more are refused with 429 / RESOURCE_EXHAUSTED. */
  maxRequestsPerModel: number;
  /** Streams (SSE, gRPC streams) open at once per model; more are refused with 429 / RESOURCE_EXHAUSTED. */
  maxStreamsPerModel: number;
  /** Seconds an HTTP request may take before it is stopped with 504 (0: no limit). Streams are bounded by their own limits. */
  requestTimeoutSeconds: number;
}

export type ModelControl = 'none' | 'explicit';

export interface ServerConfig {
  modelsDir: string;
  host: string;
  httpPort: number;
  grpcPort: number;
  runtime: RuntimeOptions;
  queue: RunQueueOptions;
  limits: Limits;
  /**
   * Origins whose web apps may call the HTTP API and fetch model files (CORS), e.g.
   * `https://app.example`; `*` for any. Empty (the default): only the server's own origin (the demo).
   */
  corsOrigins: string[];
  /** On shutdown (SIGTERM), how long in-flight requests and streams may take to finish before they are cut. */
  shutdownGraceSeconds: number;
  /**
   * API keys clients must send (`authorization: Bearer <key>`); empty: no authentication. Plain strings
   * are keys without the admin marker; only `admin` keys may load and unload models.
   */
  apiKeys: (string | ApiKey)[];
  /**
   * Model control (as Triton's `--model-control-mode`): `none` serves the models found at start-up and
   * refuses load/unload requests; `explicit` lets clients (admin keys, when keys are configured) load
   * and unload models at run time.
   */
  modelControl: ModelControl;
  /**
   * Processes serving the same HTTP and gRPC ports (`--processes N`): above 1 a primary process forks N
   * workers (node:cluster), each loading every model, and replaces a worker that dies.
   */
  processes: number;
  /**
   * Dynamic batching of concurrent requests to stateless graphs (`--dynamic-batching on|off`,
   * `--batch-delay` µs): the defaults of graphs whose manifest has no `dynamicBatching` section; off
   * turns it off for every graph.
   */
  dynamicBatching: DynamicBatchingDefaults;
  logLevel: string;
}

export const DEFAULT_CONFIG: ServerConfig = {
  modelsDir: BUNDLED_MODELS_DIR,
  host: '0.0.0.0',
  httpPort: 8000,
  grpcPort: 8001,
  runtime: DEFAULT_RUNTIME_OPTIONS,
  queue: { maxConcurrent: 2, maxQueued: 256 },
  limits: {
    maxBodyBytes: 16 * 1024 * 1024,
    maxTensorElements: 4 * 1024 * 1024,
    maxAxisLength: DEFAULT_MAX_AXIS_LENGTH,
    maxTextChars: 10_000,
    maxAudioSeconds: 600,
    maxStreamSeconds: 300,
    maxAudioMessageBytes: 25 * 1024,
    maxImagePixels: 4096 * 4096,
    maxRequestsPerModel: 256,
    maxStreamsPerModel: 1024,
    requestTimeoutSeconds: 120,
  },
  corsOrigins: [],
  apiKeys: [],
  modelControl: 'none',
  shutdownGraceSeconds: 30,
  processes: 1,
  dynamicBatching: DEFAULT_DYNAMIC_BATCHING,
  logLevel: 'info',
};
