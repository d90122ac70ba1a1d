/**
 * Starts seqserve: loads the model repository, then serves HTTP and gRPC. Used by main.ts and by
 * the integration tests (ports 0 = ephemeral; the bound ports are returned and logged).
 */
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import type { ServerConfig } from './config.ts';
import type { ServerContext } from './context.ts';
import { startGrpcServer, type GrpcHandle } from './grpc/grpc-server.ts';
import { createApp } from './http/app.ts';
import { createLogger, type Logger } from './observability/logger.ts';
import { Metrics } from './observability/metrics.ts';
import { ModelRepository } from './runtime/model-repository.ts';
import { SessionFactory } from './runtime/session-factory.ts';

export interface RunningServer {
  httpPort: number;
  grpcPort: number;
  context: ServerContext;
  close(): Promise<void>;
}

export async function startServer(config: ServerConfig, log: Logger = createLogger(config.logLevel)): Promise<RunningServer> {
  let ready = false;
  const metrics = new Metrics();
  const sessions = new SessionFactory(config.runtime, log);
  const repository = new ModelRepository({ root: config.modelsDir, sessions, log, metrics, queue: config.queue });
  const context: ServerContext = { config, repository, sessions, metrics, log, ready: () => ready };
  log.info({ modelsDir: config.modelsDir, providers: config.runtime.providers }, 'loading models');
  await repository.loadAll();
  const app = createApp(context);
  const http = await new Promise<ServerType>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: config.httpPort, hostname: config.host }, () => resolve(s));
    s.once('error', reject);
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
    async close() {
      ready = false;
      await Promise.all([new Promise<void>((resolve) => http.close(() => resolve())), grpc.close()]);
      await repository.close();
    },
  };
}
