/**
 * Fault isolation for batched runs, in one place: run the rows together; if that run fails, run
 * each row alone, so only the rows whose own input trips the runtime fail and the others get their
 * result. Used by the generation engine's encoder runs and decoder steps and by the BatchScheduler.
 */

/** How one row fared when it ran alone. */
export type RowOutcome<R> = { ok: true; value: R } | { ok: false; error: unknown };

/** The batch's result, or, after the batch failed with `error`, each row's own outcome (in row order). */
export type BatchOrRows<B, R> = { ok: true; batch: B } | { ok: false; error: unknown; rows: RowOutcome<R>[] };

/**
 * Runs `rows` as one batch; if it throws, runs each row alone with `runRow` (one after the other).
 * A batch of one row is not run again: its outcome is the batch's error.
 */
export async function runBatchOrRows<Row, B, R>(
  rows: readonly Row[],
  runBatch: (rows: readonly Row[]) => Promise<B>,
  runRow: (row: Row) => Promise<R>,
): Promise<BatchOrRows<B, R>> {
  try {
    return { ok: true, batch: await runBatch(rows) };
  } catch (error) {
    if (rows.length === 1) return { ok: false, error, rows: [{ ok: false, error }] };
    const outcomes: RowOutcome<R>[] = [];
    for (const row of rows) {
      try {
        outcomes.push({ ok: true, value: await runRow(row) });
      } catch (own) {
        outcomes.push({ ok: false, error: own });
      }
    }
    return { ok: false, error, rows: outcomes };
  }
}

/** For runs that give one result per row: each row's outcome, whether the batch ran or its rows ran alone. */
export function eachRow<R>(result: BatchOrRows<readonly R[], R>): RowOutcome<R>[] {
  if (!result.ok) return result.rows;
  const outcomes: RowOutcome<R>[] = [];
  for (const value of result.batch) outcomes.push({ ok: true, value });
  return outcomes;
}
