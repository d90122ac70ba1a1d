/** Dynamic batching as a server's /metrics counts it: runs and rows of `seqserve_batch_size` for one graph. */

/** `model.graph`'s batch runs (`count`) and the rows they held (`sum`), read from `/metrics` text. */
export function batchSizesIn(metrics: string, graph: string): { count: number; sum: number } {
  const value = (name: string) =>
    Number(
      metrics
        .split('\n')
        .find((l) => l.startsWith(`${name}{`) && l.includes(`model="${graph}"`))
        ?.split(' ')
        .at(-1) ?? 0,
    );
  return { count: value('seqserve_batch_size_count'), sum: value('seqserve_batch_size_sum') };
}

/** The same from a server at `http`. */
export async function batchSizes(http: string, graph: string): Promise<{ count: number; sum: number }> {
  return batchSizesIn(await (await fetch(`${http}/metrics`)).text(), graph);
}
