/**
 * `--processes N`: a primary process forks N workers (node:cluster) that each run a whole seqserve
 * (every model loaded, HTTP and gRPC) on the same ports, and replaces a worker that dies.
 *
 * How the ports are shared: in a cluster worker every `net.Server.listen()` is routed to the primary,
 * which owns the one listening socket per address and port and hands accepted connections to the
 * workers in turn (cluster's round-robin scheduling, the default on Linux). That holds for the HTTP
 * server of @hono/node-server (a node:http server) and for grpc-js, whose server listens through a
 * node:http2 server (no SO_REUSEPORT needed; grpc-js 1.14 has no option for it). Connections, not
 * requests, are distributed: a keep-alive HTTP client or a gRPC channel stays on one worker.
 */
import cluster, { type Worker } from 'node:cluster';
import net from 'node:net';
import type { ServerConfig } from './config.ts';
import type { Logger } from './observability/logger.ts';
import type { RunningServer } from './start-server.ts';

/** Worker -> primary: the worker's server is listening and ready. */
interface ReadyMessage {
  seqserve: 'ready';
  httpPort: number;
  grpcPort: number;
}
/** Primary -> worker: how many workers have been replaced so far (seqserve_process_restarts_total). */
interface RestartsMessage {
  seqserve: 'restarts';
  count: number;
}

const HTTP_PORT_ENV = 'SEQSERVE_CLUSTER_HTTP_PORT';
const GRPC_PORT_ENV = 'SEQSERVE_CLUSTER_GRPC_PORT';

/**
 * A free port on `host`. Ports of 0 are resolved once, by the primary: under cluster every worker's
 * listen(0) on one address gets the same shared socket, so HTTP and gRPC would land on one port.
 */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen({ port: 0, host, exclusive: true }, () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** In a worker: the configuration with the ports the primary chose. */
export function workerConfig(config: ServerConfig): ServerConfig {
  const http = process.env[HTTP_PORT_ENV];
  const grpc = process.env[GRPC_PORT_ENV];
  return { ...config, httpPort: http ? Number(http) : config.httpPort, grpcPort: grpc ? Number(grpc) : config.grpcPort };
}

/** In a worker whose server is up: labels its metrics, tells the primary it is ready, takes the restart count. */
export function joinPrimary(server: RunningServer): void {
  const { metrics } = server.context;
  metrics.processInfo.reset();
  metrics.processInfo.set({ pid: String(process.pid), worker: String(cluster.worker?.id ?? 0) }, 1);
  let seen = 0;
  process.on('message', (msg: Partial<RestartsMessage>) => {
    if (msg?.seqserve === 'restarts' && typeof msg.count === 'number' && msg.count > seen) {
      metrics.processRestarts.inc(msg.count - seen);
      seen = msg.count;
    }
  });
  const ready: ReadyMessage = { seqserve: 'ready', httpPort: server.httpPort, grpcPort: server.grpcPort };
  process.send?.(ready);
}

interface WorkerState {
  pid: number;
  ready: boolean;
  /** The pid of the worker this one replaces. */
  replaces?: number;
}

/**
 * The primary: forks `config.processes` workers, logs when all are ready, replaces a worker that dies
 * (a worker that dies before the server was first ready stops everything: the same failure would
 * repeat; a replacement that dies before it is ready is tried again after 1, 2, 4 … 30 s), and on
 * SIGTERM/SIGINT sends SIGTERM to every worker (each shuts down gracefully within --shutdown-grace),
 * then exits 0 once they have all exited (1 if one failed or had to be killed).
 */
export async function runPrimary(config: ServerConfig, log: Logger): Promise<void> {
  const httpPort = config.httpPort || (await freePort(config.host));
  const grpcPort = config.grpcPort || (await freePort(config.host));
  const workers = new Map<number, WorkerState>();
  let restarts = 0;
  let allReady = false;
  let shuttingDown = false;
  let failed = false;
  /** Replacements in a row that died before they were ready (backs off the next attempt). */
  let failedStarts = 0;
  const retryTimers = new Set<NodeJS.Timeout>();

  const fork = (replaces?: number): Worker => {
    const worker = cluster.fork({ [HTTP_PORT_ENV]: String(httpPort), [GRPC_PORT_ENV]: String(grpcPort) });
    const state: WorkerState = { pid: worker.process.pid ?? 0, ready: false, replaces };
    workers.set(worker.id, state);
    // a worker that died and whose 'exit' has not arrived yet: sending to it fails (EPIPE); its exit handles it
    worker.on('error', (err) => log.warn({ err, worker: worker.id, workerPid: state.pid }, `message to worker ${worker.id} (pid ${state.pid}) failed`));
    worker.on('message', (msg: Partial<ReadyMessage>) => {
      if (msg?.seqserve !== 'ready') return;
      state.ready = true;
      failedStarts = 0;
      const restartsMessage: RestartsMessage = { seqserve: 'restarts', count: restarts };
      if (restarts > 0) worker.send(restartsMessage);
      if (replaces !== undefined)
        log.info({ worker: worker.id, workerPid: state.pid, replaces, restarts }, `worker ${worker.id} (pid ${state.pid}) ready, replacing pid ${replaces}`);
      else log.info({ worker: worker.id, workerPid: state.pid }, `worker ${worker.id} (pid ${state.pid}) ready`);
      if (!allReady && [...workers.values()].filter((w) => w.ready).length === config.processes) {
        allReady = true;
        const pids = [...workers.values()].map((w) => w.pid);
        log.info(
          { httpPort: msg.httpPort, grpcPort: msg.grpcPort, processes: config.processes, workerPids: pids },
          `seqserve listening: http ${config.host}:${msg.httpPort}, grpc ${config.host}:${msg.grpcPort}, ${config.processes} processes (pids ${pids.join(', ')})`,
        );
      }
    });
    return worker;
  };

  /** Starts a worker in place of `pid`'s and tells every ready worker the new restart count. */
  const replace = (pid: number): Worker => {
    restarts++;
    const replacement = fork(pid);
    const message: RestartsMessage = { seqserve: 'restarts', count: restarts };
    for (const w of Object.values(cluster.workers ?? {})) if (w?.isConnected() && workers.get(w.id)?.ready) w.send(message);
    return replacement;
  };

  let exitTimer: NodeJS.Timeout | undefined;
  const finishIfDone = () => {
    if (!shuttingDown || workers.size > 0) return; // workers leave the map on their 'exit'
    clearTimeout(exitTimer);
    log.info({ failed }, 'all worker processes have exited');
    process.exit(failed ? 1 : 0);
  };

  const shutdown = (reason: string, exitFailed: boolean) => {
    if (shuttingDown) return;
    shuttingDown = true;
    for (const t of retryTimers) clearTimeout(t);
    failed ||= exitFailed;
    log.info(
      { reason, graceSeconds: config.shutdownGraceSeconds, workerPids: [...workers.values()].map((w) => w.pid) },
      'shutting down: asking every worker process to refuse new work and let in-flight requests finish',
    );
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
    exitTimer = setTimeout(
      () => {
        log.error({ workerPids: Object.values(cluster.workers ?? {}).map((w) => w?.process.pid) }, 'worker processes still running after the grace period: killing them');
        failed = true;
        for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGKILL');
      },
      (config.shutdownGraceSeconds + 10) * 1000,
    );
    finishIfDone();
  };

  cluster.on('exit', (worker, code, signal) => {
    const state = workers.get(worker.id);
    workers.delete(worker.id);
    const pid = state?.pid ?? worker.process.pid ?? 0;
    if (shuttingDown) {
      if (code !== 0 && signal !== 'SIGTERM') failed = true;
      log.info({ worker: worker.id, workerPid: pid, code, signal }, `worker ${worker.id} (pid ${pid}) exited`);
      finishIfDone();
      return;
    }
    if (!state?.ready && !allReady) {
      log.error(
        { worker: worker.id, workerPid: pid, code, signal },
        `worker ${worker.id} (pid ${pid}) died before the server was ready (code ${code}, signal ${signal}); stopping`,
      );
      shutdown('a worker failed to start', true);
      return;
    }
    const serving = [...workers.values()].filter((w) => w.ready).length;
    if (!state?.ready) {
      // a replacement that failed to start: try again later, while the others serve
      const delay = Math.min(30_000, 1000 * 2 ** failedStarts++);
      log.error(
        { worker: worker.id, workerPid: pid, code, signal, serving, retryInSeconds: delay / 1000 },
        `replacement worker ${worker.id} (pid ${pid}) died before it was ready (code ${code}, signal ${signal}); ${serving} still serving; trying again in ${delay / 1000} s`,
      );
      retryTimers.add(setTimeout(() => shuttingDown || replace(state?.replaces ?? pid), delay));
      return;
    }
    const replacement = replace(pid);
    log.error(
      { worker: worker.id, workerPid: pid, code, signal, restarts, serving, replacement: replacement.id, replacementPid: replacement.process.pid },
      `worker ${worker.id} (pid ${pid}) died (code ${code}, signal ${signal}); ${serving} still serving; starting worker ${replacement.id} (pid ${replacement.process.pid}) in its place`,
    );
  });

  process.on('SIGINT', () => shutdown('SIGINT', false));
  process.on('SIGTERM', () => shutdown('SIGTERM', false));
  log.info({ processes: config.processes, httpPort, grpcPort }, `starting ${config.processes} worker processes (each loads every model)`);
  for (let i = 0; i < config.processes; i++) fork();
}
