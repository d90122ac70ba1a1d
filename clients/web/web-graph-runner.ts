/**
 * The browser's GraphRunner over an onnxruntime-web session. Feeds are checked against the
 * session's input signature first (server/core/feed-check.ts), as on the server: a tensor with an
 * axis of length 0, or inputs that disagree on a shared dimension, are refused with a message
 * naming the input instead of reaching the runtime.
 *
 * No onnxruntime import: it takes any session with onnxruntime's shape, so the same code runs over
 * onnxruntime-web in the page and in Node (tests).
 */
import { checkFeeds, manifestMinimums, signatureFromMetadata, type AxisMaximum, type GraphSignature, type ValueMetadataLike } from '../../server/core/feed-check.ts';
import type { GraphRunner, TensorMap } from '../../server/core/graph-runner.ts';
import type { Manifest, StateSpec } from '../../server/core/manifest.ts';

/** What the runner needs of an onnxruntime(-web) InferenceSession. */
export interface WebSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: readonly ValueMetadataLike[];
  run(feeds: never): Promise<unknown>;
}

/**
 * A runner of `session`, named `name` (`model.graph`) in messages, with the graph's manifest
 * states, the manifest sections that imply minimum input lengths (audio) and its axes' upper
 * bounds (`axisMaximums`).
 */
export function webGraphRunner(
  session: WebSession,
  name: string,
  manifest: { states?: readonly Pick<StateSpec, 'input' | 'batchAxis'>[]; audio?: Manifest['audio']; maximums?: readonly AxisMaximum[] } = {},
): GraphRunner & { signature: GraphSignature } {
  const inputs = signatureFromMetadata(session.inputMetadata);
  const signature: GraphSignature = { name, inputs, states: manifest.states ?? [], minimums: manifestMinimums(manifest, inputs), maximums: manifest.maximums ?? [] };
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    signature,
    run: async (feeds: TensorMap) => {
      checkFeeds(signature, feeds);
      return (await session.run(feeds as never)) as TensorMap;
    },
  };
}
