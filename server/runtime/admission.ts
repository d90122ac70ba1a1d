/**
 * Admission control per model: at most `maxRequests` requests and `maxStreams` streams at once; one
 * more is refused at once (RESOURCE_EXHAUSTED → HTTP 429 / gRPC RESOURCE_EXHAUSTED, retry after a
 * second) instead of waiting in an unbounded line. Every call enters here once, through the call
 * service (server/service/task-call.ts), and leaves when it ends, however it ends.
 */
import { SeqserveError } from '../core/errors.ts';

export interface AdmissionLimits {
  /** Requests (answered in one response) running at once per model. */
  maxRequestsPerModel: number;
  /** Streams (SSE responses, gRPC streams) open at once per model. */
  maxStreamsPerModel: number;
}

export type WorkKind = 'request' | 'stream';

export class Admission {
  private readonly open = new Map<string, Record<WorkKind, number>>();

  constructor(
    private readonly limits: AdmissionLimits,
    private readonly onChange: (model: string, kind: WorkKind, open: number) => void = () => undefined,
    private readonly onReject: (model: string, kind: WorkKind) => void = () => undefined,
  ) {}

  /** Open requests or streams of a model now. */
  count(model: string, kind: WorkKind): number {
    return this.open.get(model)?.[kind] ?? 0;
  }

  /** Takes a place for one request or stream; the returned function gives it back (once). */
  enter(model: string, kind: WorkKind): () => void {
    const counts = this.open.get(model) ?? { request: 0, stream: 0 };
    const limit = kind === 'request' ? this.limits.maxRequestsPerModel : this.limits.maxStreamsPerModel;
    if (counts[kind] >= limit) {
      this.onReject(model, kind);
      throw new SeqserveError('resource_exhausted', `model "${model}" has ${counts[kind]} ${kind}s open, its limit; retry later`, { retryAfterSeconds: 1 });
    }
    counts[kind]++;
    this.open.set(model, counts);
    this.onChange(model, kind, counts[kind]);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      counts[kind]--;
      this.onChange(model, kind, counts[kind]);
    };
  }
}
