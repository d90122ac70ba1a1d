/**
 * One request or stream of a model as every transport runs it: inside the model's admission limit
 * (refused at once past it) and counted and timed in the metrics.
 */
import type { ServerContext } from '../context.ts';
import type { WorkKind } from './admission.ts';

export interface TrackedWorkOptions {
  /** A request (default) or a stream served in this one call. */
  kind?: WorkKind;
  /** The metrics' model label when it names more than the model (a KServe graph: `model.graph`). */
  label?: string;
}

export function trackedWork<T>(ctx: Pick<ServerContext, 'admission' | 'metrics'>, model: string, endpoint: string, work: () => Promise<T>, options: TrackedWorkOptions = {}): Promise<T> {
  return ctx.admission.run(model, () => ctx.metrics.track(options.label ?? model, endpoint, work), options.kind);
}
