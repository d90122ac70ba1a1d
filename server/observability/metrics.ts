import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { asSeqserveError } from '../core/errors.ts';

/** The event-loop delay monitor's sampling interval (ms). */
const LOOP_DELAY_RESOLUTION_MS = 10;
const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Prometheus metrics of one server instance (its own registry, so tests can run several servers). */
export class Metrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'seqserve_requests_total',
    help: 'Requests by model, endpoint and outcome (ok or an error code).',
    labelNames: ['model', 'endpoint', 'outcome'] as const,
    registers: [this.registry],
  });
  /** Where queue depths come from (the model repository, once it exists). */
  queueDepths: () => Iterable<[graph: string, depth: number]> = () => [];
  readonly queueDepth = new Gauge({
    name: 'seqserve_queue_depth',
    help: "Runs waiting in each graph's run queue (bounded by --max-queue; beyond it work is shed).",
    labelNames: ['graph'] as const,
    registers: [this.registry],
    collect: () => {
      this.queueDepth.reset();
      for (const [graph, depth] of this.queueDepths()) this.queueDepth.set({ graph }, depth);
    },
  });
  readonly openWork = new Gauge({
    name: 'seqserve_open_work',
    help: 'Requests and streams open per model (admission control), by kind (request | stream).',
    labelNames: ['model', 'kind'] as const,
    registers: [this.registry],
  });
  readonly rejected = new Counter({
    name: 'seqserve_rejected_total',
    help: 'Work refused to shed load (429 / RESOURCE_EXHAUSTED), by model and reason (too_many_requests, too_many_streams, queue_full).',
    labelNames: ['model', 'reason'] as const,
    registers: [this.registry],
  });
  /** Model files served to clients that run models themselves (browsers): 200 sent, 304 revalidated from their cache. */
  readonly modelFileResponses = new Counter({
    name: 'seqserve_model_file_responses_total',
    help: 'Responses of GET /v1/models/{model}/files/{file} by model and status (200 sent, 304 not modified).',
    labelNames: ['model', 'status'] as const,
    registers: [this.registry],
  });
  readonly modelFileBytes = new Counter({
    name: 'seqserve_model_file_bytes_total',
    help: 'Bytes of model files sent by GET /v1/models/{model}/files/{file}, by model.',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });
  readonly requestDuration = new Histogram({
    name: 'seqserve_request_duration_seconds',
    help: 'Time from request parsed to response ready, by model and endpoint.',
    labelNames: ['model', 'endpoint'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly queueDuration = new Histogram({
    name: 'seqserve_queue_duration_seconds',
    help: 'Time a run waited for its graph, by model graph.',
    labelNames: ['model'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly inferenceDuration = new Histogram({
    name: 'seqserve_inference_duration_seconds',
    help: 'ONNX Runtime run time, by model graph.',
    labelNames: ['model'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly inflight = new Gauge({
    name: 'seqserve_inflight_requests',
    help: 'Requests being served, by model and endpoint.',
    labelNames: ['model', 'endpoint'] as const,
    registers: [this.registry],
  });
  readonly batchSize = new Histogram({
    name: 'seqserve_batch_size',
    help: 'Rows per batched run of a graph, by model graph: dynamic batches of concurrent requests (KServe infer, task endpoints), stream steps, generation steps.',
    labelNames: ['model'] as const,
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers: [this.registry],
  });
  readonly activeSequences = new Gauge({
    name: 'seqserve_active_sequences',
    help: 'Sequences in the decoding batch of a generation model (beams and choices count one each).',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });

  /** Where the generation engines' waiting counts come from (the model repository, once it exists). */
  waitingCounts: () => Iterable<[model: string, waiting: number]> = () => [];
  readonly waitingRequests = new Gauge({
    name: 'seqserve_waiting_requests',
    help: 'Generation requests waiting for a row in the decoding batch of a model (bounded by --max-queue; beyond it work is shed).',
    labelNames: ['model'] as const,
    registers: [this.registry],
    collect: () => {
      this.waitingRequests.reset();
      for (const [model, waiting] of this.waitingCounts()) this.waitingRequests.set({ model }, waiting);
    },
  });

  readonly generatedTokens = new Counter({
    name: 'seqserve_generated_tokens_total',
    help: 'Tokens generated, by model.',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });

  readonly activeStreams = new Gauge({
    name: 'seqserve_active_streams',
    help: 'Open streams holding recognizer or generation state, by model and API.',
    labelNames: ['model', 'api'] as const,
    registers: [this.registry],
  });
  readonly modelReady = new Gauge({
    name: 'seqserve_model_ready',
    help: '1 when the model is loaded and ready, 0 otherwise.',
    labelNames: ['model'] as const,
    registers: [this.registry],
  });

  /**
   * Event-loop delay of this process (perf_hooks.monitorEventLoopDelay, sampled every 10 ms): how
   * late timers fired because the JavaScript thread was busy (a synchronous model run, JSON, GC).
   * The histogram records the time between its timer's runs, which includes the 10 ms interval
   * itself (an idle loop reads ~10.1 ms); the metric subtracts it, as Elastic's APM agent does, so an
   * idle loop reads ~0 (nodejs/node#34661, open-telemetry/opentelemetry-js-contrib#2794).
   * The window is the time since this process's previous scrape (each scrape reads, then resets the
   * histogram, as prom-client's default Node.js metrics do); quantile "1" is the largest delay.
   */
  private readonly loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
  readonly eventLoopDelay = new Gauge({
    name: 'seqserve_event_loop_delay_seconds',
    help: 'Event-loop delay of this process since its previous scrape (perf_hooks.monitorEventLoopDelay, less its 10 ms sampling interval), by quantile (0.5, 0.9, 0.99; 1 = max).',
    labelNames: ['quantile'] as const,
    registers: [this.registry],
    collect: () => {
      const h = this.loopDelay;
      const count = h.count;
      const late = (ns: number) => (count ? Math.max(0, ns / 1e9 - LOOP_DELAY_RESOLUTION_MS / 1e3) : 0);
      for (const q of [0.5, 0.9, 0.99]) this.eventLoopDelay.set({ quantile: String(q) }, late(h.percentile(q * 100)));
      this.eventLoopDelay.set({ quantile: '1' }, late(h.max));
      h.reset();
    },
  });
  /** With --processes N: which process answered this scrape (each process has its own registry). */
  readonly processInfo = new Gauge({
    name: 'seqserve_process_info',
    help: 'Always 1: the process that answered this scrape (pid; worker is the cluster worker id, 0 without --processes).',
    labelNames: ['pid', 'worker'] as const,
    registers: [this.registry],
  });
  /** With --processes N: worker processes the primary replaced since it started, as the primary told this worker. */
  readonly processRestarts = new Counter({
    name: 'seqserve_process_restarts_total',
    help: 'Replacement worker processes the primary started, since it started, for workers that died (--processes N; the count the primary sends each worker; 0 with one process).',
    registers: [this.registry],
  });

  /** Executor threads that died and were replaced, by model. */
  readonly executorRestarts = new Counter({
    name: 'seqserve_executor_restarts_total',
    help: "Model executor threads that stopped (a runtime's native abort, the thread killed) and were replaced; the runs each held failed with UNAVAILABLE.",
    labelNames: ['model'] as const,
    registers: [this.registry],
  });

  constructor() {
    this.loopDelay.enable();
    this.processInfo.set({ pid: String(process.pid), worker: '0' }, 1);
    this.processRestarts.inc(0);
  }

  /** Stops sampling the event-loop delay (the server's close). */
  stop(): void {
    this.loopDelay.disable();
  }

  /**
   * Counts, times and tracks in-flight state of one request or stream: the one place that records
   * `seqserve_requests_total`, so a success and a failure carry the same labels (the model's name,
   * the endpoint) and differ only in `outcome`.
   */
  async track<T>(model: string, endpoint: string, work: () => Promise<T>): Promise<T> {
    const finish = this.begin(model, endpoint);
    try {
      const result = await work();
      finish();
      return result;
    } catch (err) {
      finish(err);
      throw err;
    }
  }

  /**
   * The same for work that is not one promise (a stream of events): starts counting now; the
   * returned function ends it, with the error it failed with if it did (once; later calls do nothing).
   */
  begin(model: string, endpoint: string): (err?: unknown) => void {
    const labels = { model, endpoint };
    this.inflight.inc(labels);
    const stop = this.requestDuration.startTimer(labels);
    let done = false;
    return (err?: unknown) => {
      if (done) return;
      done = true;
      const outcome = err === undefined ? 'ok' : asSeqserveError(err).code;
      if (outcome === 'resource_exhausted') this.rejected.inc({ model, reason: 'queue_full' });
      this.requests.inc({ ...labels, outcome });
      stop();
      this.inflight.dec(labels);
    };
  }
}
