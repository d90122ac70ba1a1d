/**
 * The one place that creates ONNX Runtime sessions and chooses execution providers.
 * Providers are tried in the configured order (default cuda, then cpu); a provider whose library
 * cannot be loaded is marked unavailable, logged once, and skipped for every later model.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import type { Logger } from 'pino';

/**
 * The CUDA provider is a separate library that onnxruntime-node's installer adds only with
 * ONNXRUNTIME_NODE_INSTALL=cuda12 (see Dockerfile). Without it, skip CUDA without a native error.
 */
export function cudaProviderMissing(): string | undefined {
  const pkgDir = path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
  const lib = path.join(pkgDir, 'bin', 'napi-v6', process.platform, process.arch, 'libonnxruntime_providers_cuda.so');
  return existsSync(lib) ? undefined : `${lib} is not installed (install onnxruntime-node with ONNXRUNTIME_NODE_INSTALL=cuda12)`;
}

export type ProviderName = 'cuda' | 'cpu';

/** ONNX Runtime's graph optimisation levels, least to most (`--graph-optimization-level`). */
export const GRAPH_OPTIMIZATION_LEVELS = ['disabled', 'basic', 'extended', 'all'] as const;
export type GraphOptimizationLevel = (typeof GRAPH_OPTIMIZATION_LEVELS)[number];

export interface RuntimeOptions {
  providers: ProviderName[];
  /** Threads one operator (a MatMul, an LSTM) may use. */
  intraOpThreads: number;
  /** Threads that run independent nodes of a graph at once; above 1 the session runs in parallel mode. */
  interOpThreads: number;
  graphOptimizationLevel: GraphOptimizationLevel;
  /** Run every model's graphs in executor worker threads (model-executor.ts), off the main thread's event loop. */
  executors: boolean;
  /** Executor threads (model instances) per model, each with a session of every graph. */
  instances: number;
  /** Niceness of executor threads (Linux): the main thread, which serves every protocol, wins a contended core. */
  executorNice: number;
}

export const DEFAULT_RUNTIME_OPTIONS: RuntimeOptions = {
  providers: ['cuda', 'cpu'],
  intraOpThreads: 1,
  interOpThreads: 1,
  graphOptimizationLevel: 'all',
  executors: true,
  instances: 1,
  executorNice: 5,
};

export interface CreatedSession {
  session: ort.InferenceSession;
  provider: ProviderName;
}

// Errors that mean "this provider cannot run here", as opposed to "this model is broken".
const PROVIDER_UNAVAILABLE = /providers?_(shared|cuda)|failed to load (shared )?library|cuda|cudnn|not (compiled|built) with|unsupported execution provider/i;

export class SessionFactory {
  private readonly unavailable = new Map<ProviderName, string>();

  constructor(
    readonly options: RuntimeOptions,
    private readonly log: Logger,
  ) {
    const missing = options.providers.includes('cuda') ? cudaProviderMissing() : undefined;
    if (missing) this.markUnavailable('cuda', missing);
  }

  private markUnavailable(provider: ProviderName, reason: string): void {
    this.unavailable.set(provider, reason);
    const next = this.options.providers.find((p) => !this.unavailable.has(p));
    this.log.warn({ provider, fallback: next, reason }, `execution provider ${provider} is not available; using ${next ?? 'nothing'}`);
  }

  /** Providers that failed to load, with the reason (KServe server metadata, `GET /v2`). */
  unavailableProviders(): Record<string, string> {
    return Object.fromEntries(this.unavailable);
  }

  /** The session options for one provider (also what a worker thread creates its copy of a session with). */
  sessionOptions(provider: ProviderName): ort.InferenceSession.SessionOptions {
    const { intraOpThreads, interOpThreads, graphOptimizationLevel } = this.options;
    return {
      executionProviders: [provider],
      intraOpNumThreads: intraOpThreads,
      interOpNumThreads: interOpThreads,
      // ONNX Runtime uses the inter-op pool only in parallel mode; one thread keeps the sequential default
      executionMode: interOpThreads > 1 ? 'parallel' : 'sequential',
      graphOptimizationLevel,
      // Errors reach callers as exceptions and our own logs; keep ONNX Runtime's native logger quiet.
      logSeverityLevel: 4,
    };
  }

  async create(model: string | Uint8Array): Promise<CreatedSession> {
    const { value: session, provider } = await this.withProvider((options) =>
      typeof model === 'string' ? ort.InferenceSession.create(model, options) : ort.InferenceSession.create(model, options),
    );
    return { session, provider };
  }

  /**
   * A graph's inputs and outputs as ONNX Runtime reads them, from a CPU session without graph
   * optimisations that is released at once: what auto-configuration infers a manifest from
   * (server/runtime/manifest-inference-folder.ts). The model's serving sessions are created later,
   * as for any model.
   */
  async describe(model: Uint8Array): Promise<{ inputs: ort.InferenceSession['inputMetadata']; outputs: ort.InferenceSession['outputMetadata'] }> {
    const session = await ort.InferenceSession.create(model, { executionProviders: ['cpu'], graphOptimizationLevel: 'disabled', logSeverityLevel: 4 });
    try {
      return { inputs: session.inputMetadata, outputs: session.outputMetadata };
    } finally {
      await session.release();
    }
  }

  /**
   * Creates something that holds sessions (a session, a model's executor threads) with the first
   * configured provider that can run here: a provider whose library cannot be loaded is marked
   * unavailable and the next one is tried; any other error is the model's and is thrown.
   */
  async withProvider<T>(create: (options: ort.InferenceSession.SessionOptions, provider: ProviderName) => Promise<T>): Promise<{ value: T; provider: ProviderName }> {
    const candidates = this.options.providers.filter((p) => !this.unavailable.has(p));
    if (candidates.length === 0) throw new Error(`no execution provider is available (configured: ${this.options.providers.join(', ')})`);
    let lastError: unknown;
    for (const provider of candidates) {
      try {
        return { value: await create(this.sessionOptions(provider), provider), provider };
      } catch (err) {
        lastError = err;
        const message = err instanceof Error ? err.message : String(err);
        if (provider === 'cpu' || !PROVIDER_UNAVAILABLE.test(message)) throw err;
        this.markUnavailable(provider, message.split('\n')[0].slice(0, 300));
      }
    }
    throw lastError;
  }
}
