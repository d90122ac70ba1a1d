/** A wrk load against one server, with how its dynamic batcher grouped the requests (from /metrics). */
import { batchSizes } from '../test/helpers/batch-metrics.ts';
import type { LoadResult } from './stats.ts';
import { wrkLoad } from './wrk.ts';

/** `wrkLoad`, and the rows per run of `graph` it caused, in words. */
export async function batchedWrkLoad(http: string, graph: string, ...load: Parameters<typeof wrkLoad>): Promise<{ row: LoadResult; perRun: string }> {
  const before = await batchSizes(http, graph);
  const row = await wrkLoad(...load);
  const after = await batchSizes(http, graph);
  const runs = after.count - before.count;
  return { row, perRun: runs > 0 ? `${((after.sum - before.sum) / runs).toFixed(1)} requests per ${graph} run (${runs} runs)` : 'every request its own run' };
}
