/**
 * The manifest's `graphs.<g>.dynamicBatching` section (as Triton's `dynamic_batching`): whether
 * concurrent requests to a stateless graph (KServe infer, task endpoints such as slot filling) are
 * stacked along batch axis 0 into one run, how long a request may wait for others, the batch sizes
 * preferred, the largest batch, and how requests of different lengths may be padded to share one.
 * The schema checks the section's shape; the server checks it against the graph at load
 * (server/runtime/batched-graph.ts: inputs and outputs exist, batch axes, bounds).
 */
import { z } from 'zod';

export const PadSpec = z
  .strictObject({
    values: z
      .record(z.string(), z.number())
      .refine((v) => Object.keys(v).length > 0, 'name at least one input')
      .describe(
        'inputs whose variable axes may differ between requests of one batch (input name -> the value they are padded with up to the longest); every other input must have the same shape in all requests of a batch',
      ),
    lengths: z
      .string()
      .min(1)
      .optional()
      .describe("the graph input [batch] (integer) holding each row's unpadded length: stacked as given, never padded; the graph uses it to ignore the padding"),
    lengthBuckets: z
      .boolean()
      .optional()
      .describe(
        'true: only requests whose padded axes fall in the same power-of-two range (1, 2, 3-4, 5-8, ...) share a batch, so padding at most doubles a row (graphs whose cost grows with the padded length, e.g. a recurrent graph over texts of very different lengths)',
      ),
  })
  .describe(
    "padding of variable lengths, only for graphs whose outputs do not change with it (a lengths input or a mask padded with 0). Outputs' axes that share a padded input axis's symbolic name are cut back to each request's own length. Never for a recurrent graph without lengths: padding changes a BiLSTM's outputs",
  );

export const DynamicBatchingSpec = z
  .strictObject({
    enabled: z
      .boolean()
      .default(true)
      .describe('false: every request runs alone (the server default is on for graphs whose inputs all have a symbolic batch axis 0 and no states)'),
    maxQueueDelayMicroseconds: z
      .number()
      .int()
      .nonnegative()
      .max(10_000_000)
      .optional()
      .describe(
        "how long the oldest waiting request may wait for others to join its batch (default: the server's --batch-delay, 0: run what is waiting as soon as the graph is free)",
      ),
    preferredBatchSizes: z
      .array(z.number().int().positive())
      .refine((s) => new Set(s).size === s.length, 'sizes must be distinct')
      .optional()
      .describe(
        'batch sizes (rows) to form when they can be: one is sent at once when it reaches the largest; when the delay passes, the largest preferred size that can be formed',
      ),
    maxBatchSize: z
      .number()
      .int()
      .positive()
      .optional()
      .describe("most rows in one run (default 64, never more than the graph's bound on axis 0); a request with more rows runs alone"),
    pad: PadSpec.optional(),
  })
  .describe("dynamic batching of concurrent requests to this graph (KServe infer and task endpoints), as Triton's dynamic_batching");

export type DynamicBatchingSpec = z.infer<typeof DynamicBatchingSpec>;
export type PadSpec = z.infer<typeof PadSpec>;
