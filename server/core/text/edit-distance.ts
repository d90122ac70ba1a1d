/** Levenshtein distance between two sequences (words for WER, characters for CER). */
export function editDistance<T>(a: readonly T[], b: readonly T[]): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0];
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = d[j];
      d[j] = cur;
    }
  }
  return d[b.length];
}

/** Word errors of a hypothesis against a reference (whitespace-separated words). */
export function wordErrors(reference: string, hypothesis: string): number {
  const words = (t: string) => t.split(/\s+/).filter(Boolean);
  return editDistance(words(reference), words(hypothesis));
}

/** Character errors of a hypothesis against a reference (code points; divide by the reference's length for CER). */
export function characterErrors(reference: string, hypothesis: string): number {
  return editDistance([...reference], [...hypothesis]);
}
