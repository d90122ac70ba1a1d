/**
 * Starts seqserve: loads the model repository, then serves HTTP and gRPC. Used by main.ts and by
 * the integration tests (ports 0 = ephemeral; the bound ports are returned and logged).
 */
import type { Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import type { ServerConfig } from './config.ts';
import type { ServerContext, StreamEnder } from './context.ts';
import { SeqserveError } from './core/errors.ts';
import { startGrpcServer, type GrpcHandle } from './grpc/grpc-server.ts';
import { createApp } from './http/app.ts';
import { answerClientErrors } from './http/client-errors.ts';
import { createLogger, type Logger } from './observability/logger.ts';
import { Metrics } from './observability/metrics.ts';
import { Admission } from './runtime/admission.ts';
import { ModelRepository } from './runtime/model-repository.ts';
import { batchDepth } from './runtime/batched-graph.ts';
import { SessionFactory } from './runtime/session-factory.ts';

/** How long streams ended at shutdown have to write their last event or status before the connections close. */
const STREAM_END_FLUSH_MS = 250;

export interface RunningServer {
  httpPort: number;
  grpcPort: number;
  context: ServerContext;
  /**
   * Graceful shutdown: readiness turns false and new work is refused (HTTP 503, gRPC UNAVAILABLE);
   * in-flight requests and streams finish for up to `graceSeconds` (default: the configuration's),
   * then whatever is left is cut; then the models are released.
   */
  close(graceSeconds?: number): Promise<void>;
}

export async function startServer(config: ServerConfig, log: Logger = createLogger(config.logLevel)): Promise<RunningServer> {
  let ready = false;
  const metrics = new Metrics();
  const sessions = new SessionFactory(config.runtime, log);
  const repository = new ModelRepository({
    root: config.modelsDir,
    sessions,
    log,
    metrics,
    queue: config.queue,
    maxAxisLength: config.limits.maxAxisLength,
    dynamicBatching: config.dynamicBatching,
    retireSeconds: config.shutdownGraceSeconds,
    inUse: (model) => admission.count(model, 'request') + admission.count(model, 'stream') > 0,
  });
  // runs waiting for the graph, and requests waiting to join a dynamic batch of it
  metrics.queueDepths = () => repository.readyModels().flatMap((m) => [...m.graphs.values()].map((g): [string, number] => [g.qualifiedName, g.queueDepth + batchDepth(g)]));
  metrics.waitingCounts = () =>
    repository.readyModels().flatMap((m): [string, number][] => (m.task === 'chat' || m.task === 'caption' ? [[m.name, m.taskModel.waitingRequests]] : []));
  const admission = new Admission(
    config.limits,
    (model, kind, open) => metrics.openWork.set({ model, kind }, open),
    (model, kind) => metrics.rejected.inc({ model, reason: `too_many_${kind}s` }),
  );
  const openStreams = new Set<StreamEnder>();
  const context: ServerContext = { config, repository, sessions, metrics, admission, log, ready: () => ready, openStreams };
  log.info({ modelsDir: config.modelsDir, providers: config.runtime.providers }, 'loading models');
  await repository.loadAll();
  const app = createApp(context);
  const http = await new Promise<ServerType>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: config.httpPort, hostname: config.host }, () => resolve(s));
    s.once('error', reject);
  });
  answerClientErrors(http as Server);
  // HTTP exchanges in flight (SSE streams included: a response counts until it is closed)
  let httpInFlight = 0;
  let httpIdle: (() => void) | undefined;
  http.on('request', (_req, res: ServerResponse) => {
    httpInFlight++;
    res.once('close', () => {
      if (--httpInFlight === 0) httpIdle?.();
    });
  });
  let grpc: GrpcHandle;
  try {
    grpc = await startGrpcServer(context, config.host, config.grpcPort);
  } catch (err) {
    http.close();
    throw err;
  }
  const httpPort = (http.address() as AddressInfo).port;
  ready = true;
  log.info({ httpPort, grpcPort: grpc.port, models: repository.index() }, `seqserve listening: http ${config.host}:${httpPort}, grpc ${config.host}:${grpc.port}`);
  return {
    httpPort,
    grpcPort: grpc.port,
    context,
    async close(graceSeconds = config.shutdownGraceSeconds) {
      ready = false; // readiness probes fail, new requests are refused (see createApp)
      const deadline = graceSeconds * 1000;
      const httpDrained = new Promise<void>((resolve) => {
        http.close(() => resolve()); // stops accepting; idle keep-alive connections close now
        httpIdle = () => (http as Server).closeIdleConnections();
        if (httpInFlight === 0) httpIdle();
      });
      let timer: NodeJS.Timeout | undefined;
      const cut = new Promise<'cut'>((resolve) => (timer = setTimeout(() => resolve('cut'), deadline)));
      // gRPC's own force shutdown comes later than the cut below, which ends the streams first
      const drained = Promise.all([httpDrained, grpc.close(deadline + STREAM_END_FLUSH_MS + 1000)]);
      if ((await Promise.race([drained, cut])) === 'cut') {
        log.warn({ httpInFlight, openStreams: openStreams.size, graceSeconds }, 'shutdown grace period over: cutting the requests still running');
        // streams end with UNAVAILABLE (an error event; a gRPC status), which clients retry elsewhere,
        // and have a moment to be written before the connections close
        const reason = new SeqserveError('unavailable', 'the server is shutting down; retry on another instance');
        for (const end of [...openStreams]) {
          try {
            end(reason);
          } catch (err) {
            log.warn({ err }, 'ending a stream at shutdown failed');
          }
        }
        openStreams.clear();
        await new Promise((r) => setTimeout(r, STREAM_END_FLUSH_MS));
        (http as Server).closeAllConnections();
        grpc.forceShutdown();
        await drained;
      }
      clearTimeout(timer);
      await repository.close();
      metrics.stop();
    },
  };
}
