/** `seqserve serve`: parses flags, starts the server, stops it on SIGINT/SIGTERM. */
import cluster from 'node:cluster';
import { parseArgs } from 'node:util';
import path from 'node:path';
import { ApiKeys } from './security/api-keys.ts';
import { DEFAULT_CONFIG, type ModelControl, type ServerConfig } from './config.ts';
import { createLogger } from './observability/logger.ts';
import { GRAPH_OPTIMIZATION_LEVELS, type GraphOptimizationLevel, type ProviderName } from './runtime/session-factory.ts';
import { joinPrimary, runPrimary, workerConfig } from './cluster.ts';
import { startServer } from './start-server.ts';

export const SERVE_USAGE = `seqserve serve [options]
  --models DIR              model repository: a folder of model folders, or one model
                            folder (manifest.json at its top, or only ONNX files: a
                            manifest is inferred) (default: the bundled models/)
  --host HOST               listen address (default 0.0.0.0)
  --http-port N             HTTP port (default 8000; 0 = ephemeral)
  --grpc-port N             gRPC port (default 8001; 0 = ephemeral)
  --providers LIST          execution providers in order of preference (default cuda,cpu)
  --intra-op-threads N      ONNX Runtime intra-op threads per session (default 1)
  --inter-op-threads N      ONNX Runtime inter-op threads per session; above 1 independent
                            nodes of a graph run at once (parallel mode) (default 1)
  --graph-optimization-level LEVEL
                            ONNX Runtime graph optimisations: disabled|basic|extended|all
                            (default all)
  --executors on|off        run every model's graphs in executor worker threads, off the
                            event loop that serves HTTP and gRPC (default on; off runs them
                            on the main thread)
  --model-instances N       executor threads per model, each with a session of every graph
                            (Triton's instance_group count; default 1)
  --executor-nice N         niceness of executor threads, 0-19 (Linux): the main thread, which
                            serves HTTP, gRPC and streams, wins a contended core (default 5)
  --max-queue N             runs allowed to wait per graph before shedding load (default 256)
  --dynamic-batching on|off concurrent requests to a stateless graph (KServe infer, /v1/slots,
                            /predict) share one run, stacked along the batch axis (default on;
                            a graph's manifest may set its own: graphs.<g>.dynamicBatching)
  --batch-delay N           microseconds a request may wait for others to join its batch,
                            for graphs whose manifest sets none (default 0: what waits while
                            the graph is busy forms the next batch)
  --max-body-bytes N        largest request body / gRPC message / KServe response (default 16 MiB)
  --max-image-pixels N      largest image accepted, width x height (default 16777216)
  --max-audio-seconds N     longest audio in one request (default 600)
  --max-stream-seconds N    longest audio in one recognition stream (default 300)
  --max-audio-message N     largest audio_content bytes of one streaming request (default 25600)
  --max-text-chars N        longest text accepted by text endpoints (default 10000)
  --max-tensor-elements N   largest KServe input tensor, in elements (default 4194304)
  --max-axis-length N       longest symbolic input axis of a graph whose manifest
                            (maxShapes) and task set no bound (default 128; 0 = none)
  --max-requests N          requests running at once per model (default 256)
  --max-streams N           streams open at once per model (default 1024)
  --request-timeout N       seconds an HTTP request or a KServe gRPC infer may take, then 504 /
                            DEADLINE_EXCEEDED (default 120; 0 = none)
  --cors-origins LIST       origins allowed to call the API and fetch model files from
                            their web apps (comma-separated, or *; default none)
  --api-keys-file FILE      require one of these API keys (one per line) as
                            "authorization: Bearer <key>" on HTTP and gRPC; keys can
                            also come from SEQSERVE_API_KEYS (comma-separated). A key
                            followed by the word admin ("<key> admin") may also load
                            and unload models
  --model-control MODE      none: serve the models found at start-up, refuse load and
                            unload requests (503); explicit: allow them (only to admin
                            keys when API keys are configured) (default none)
  --shutdown-grace N        on SIGTERM/SIGINT, seconds in-flight requests and streams may
                            take to finish (new work is refused meanwhile; default 30)
  --processes N             processes serving the same HTTP and gRPC ports; above 1 a
                            primary forks N workers, each loading every model (memory x N),
                            and replaces a worker that dies (default 1)
  --log-level LEVEL         trace|debug|info|warn|error (default info)`;

function port(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`--${flag}: "${value}" is not a port number (0-65535)`);
  return n;
}

function positive(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${flag}: "${value}" is not a positive integer`);
  return n;
}

function onOff(flag: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (value !== 'on' && value !== 'off') throw new Error(`--${flag}: "${value}" is not on or off`);
  return value === 'on';
}

function niceness(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 19) throw new Error(`--executor-nice: "${value}" is not a niceness from 0 to 19`);
  return n;
}

function nonNegative(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${flag}: "${value}" is not a number of seconds`);
  return n;
}

function microseconds(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 10_000_000) throw new Error(`--${flag}: "${value}" is not a whole number of microseconds (0-10000000)`);
  return n;
}

function optimizationLevel(value: string | undefined, fallback: GraphOptimizationLevel): GraphOptimizationLevel {
  if (value === undefined) return fallback;
  const level = GRAPH_OPTIMIZATION_LEVELS.find((l) => l === value);
  if (!level) throw new Error(`--graph-optimization-level: "${value}" is not one of ${GRAPH_OPTIMIZATION_LEVELS.join(', ')}`);
  return level;
}

function modelControl(value: string | undefined, fallback: ModelControl): ModelControl {
  if (value === undefined) return fallback;
  if (value !== 'none' && value !== 'explicit') throw new Error(`--model-control: "${value}" is not none or explicit`);
  return value;
}

export function parseServeArgs(argv: string[]): ServerConfig {
  const { values } = parseArgs({
    args: argv,
    options: {
      models: { type: 'string' },
      host: { type: 'string' },
      'http-port': { type: 'string' },
      'grpc-port': { type: 'string' },
      providers: { type: 'string' },
      'intra-op-threads': { type: 'string' },
      'inter-op-threads': { type: 'string' },
      'graph-optimization-level': { type: 'string' },
      executors: { type: 'string' },
      'model-instances': { type: 'string' },
      'executor-nice': { type: 'string' },
      'max-queue': { type: 'string' },
      'dynamic-batching': { type: 'string' },
      'batch-delay': { type: 'string' },
      'max-body-bytes': { type: 'string' },
      'max-image-pixels': { type: 'string' },
      'max-audio-seconds': { type: 'string' },
      'max-stream-seconds': { type: 'string' },
      'max-audio-message': { type: 'string' },
      'max-text-chars': { type: 'string' },
      'max-tensor-elements': { type: 'string' },
      'max-axis-length': { type: 'string' },
      'max-requests': { type: 'string' },
      'max-streams': { type: 'string' },
      'request-timeout': { type: 'string' },
      'cors-origins': { type: 'string' },
      'api-keys-file': { type: 'string' },
      'model-control': { type: 'string' },
      'shutdown-grace': { type: 'string' },
      processes: { type: 'string' },
      'log-level': { type: 'string' },
    },
    strict: true,
  });
  const providers = (values.providers ?? DEFAULT_CONFIG.runtime.providers.join(',')).split(',').map((p) => p.trim());
  for (const p of providers) if (p !== 'cuda' && p !== 'cpu') throw new Error(`--providers: unknown execution provider "${p}" (use cuda, cpu)`);
  const d = DEFAULT_CONFIG;
  const processes = positive('processes', values.processes, d.processes);
  if (processes > 1 && values['model-control'] === 'explicit')
    throw new Error('--processes above 1 cannot go with --model-control explicit: a load or unload would reach one worker only');
  return {
    ...d,
    modelsDir: values.models ? path.resolve(values.models) : d.modelsDir,
    host: values.host ?? d.host,
    httpPort: port('http-port', values['http-port'], d.httpPort),
    grpcPort: port('grpc-port', values['grpc-port'], d.grpcPort),
    runtime: {
      ...d.runtime,
      providers: providers as ProviderName[],
      intraOpThreads: positive('intra-op-threads', values['intra-op-threads'], d.runtime.intraOpThreads),
      interOpThreads: positive('inter-op-threads', values['inter-op-threads'], d.runtime.interOpThreads),
      graphOptimizationLevel: optimizationLevel(values['graph-optimization-level'], d.runtime.graphOptimizationLevel),
      executors: onOff('executors', values.executors, d.runtime.executors),
      instances: positive('model-instances', values['model-instances'], d.runtime.instances),
      executorNice: niceness(values['executor-nice'], d.runtime.executorNice),
    },
    queue: { ...d.queue, maxQueued: positive('max-queue', values['max-queue'], d.queue.maxQueued) },
    limits: {
      ...d.limits,
      maxBodyBytes: positive('max-body-bytes', values['max-body-bytes'], d.limits.maxBodyBytes),
      maxImagePixels: positive('max-image-pixels', values['max-image-pixels'], d.limits.maxImagePixels),
      maxAudioSeconds: positive('max-audio-seconds', values['max-audio-seconds'], d.limits.maxAudioSeconds),
      maxStreamSeconds: positive('max-stream-seconds', values['max-stream-seconds'], d.limits.maxStreamSeconds),
      maxAudioMessageBytes: positive('max-audio-message', values['max-audio-message'], d.limits.maxAudioMessageBytes),
      maxTextChars: positive('max-text-chars', values['max-text-chars'], d.limits.maxTextChars),
      maxTensorElements: positive('max-tensor-elements', values['max-tensor-elements'], d.limits.maxTensorElements),
      maxAxisLength: values['max-axis-length'] === '0' ? 0 : positive('max-axis-length', values['max-axis-length'], d.limits.maxAxisLength),
      maxRequestsPerModel: positive('max-requests', values['max-requests'], d.limits.maxRequestsPerModel),
      maxStreamsPerModel: positive('max-streams', values['max-streams'], d.limits.maxStreamsPerModel),
      requestTimeoutSeconds: values['request-timeout'] === undefined ? d.limits.requestTimeoutSeconds : nonNegative('request-timeout', values['request-timeout']),
    },
    corsOrigins:
      values['cors-origins'] === undefined
        ? d.corsOrigins
        : values['cors-origins']
            .split(',')
            .map((o) => o.trim())
            .filter(Boolean),
    apiKeys: ApiKeys.load(values['api-keys-file']),
    modelControl: modelControl(values['model-control'], d.modelControl),
    shutdownGraceSeconds: values['shutdown-grace'] === undefined ? d.shutdownGraceSeconds : nonNegative('shutdown-grace', values['shutdown-grace']),
    processes,
    dynamicBatching: {
      ...d.dynamicBatching,
      enabled: onOff('dynamic-batching', values['dynamic-batching'], d.dynamicBatching.enabled),
      maxQueueDelayMicroseconds: values['batch-delay'] === undefined ? d.dynamicBatching.maxQueueDelayMicroseconds : microseconds('batch-delay', values['batch-delay']),
    },
    logLevel: values['log-level'] ?? d.logLevel,
  };
}

export async function serveMain(argv: string[]): Promise<void> {
  let config: ServerConfig;
  try {
    config = parseServeArgs(argv);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${SERVE_USAGE}\n`);
    process.exit(2);
  }
  if (config.processes > 1 && cluster.isPrimary) {
    await runPrimary(config, createLogger(config.logLevel).child({ pid: process.pid, role: 'primary' }));
    return;
  }
  if (cluster.isWorker) config = workerConfig(config);
  const log = cluster.isWorker ? createLogger(config.logLevel).child({ pid: process.pid, worker: cluster.worker?.id }) : createLogger(config.logLevel);
  const server = await startServer(config, log);
  if (cluster.isWorker) joinPrimary(server);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return; // SIGINT to the terminal's process group reaches a worker along with its primary's SIGTERM
    stopping = true;
    log.info({ signal, graceSeconds: config.shutdownGraceSeconds }, 'shutting down: refusing new work, letting in-flight requests finish');
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  serveMain(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`seqserve: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
