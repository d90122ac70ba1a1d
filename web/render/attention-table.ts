/** Attention weights as a table: one row per output token, one column per source position, shaded by weight. */
import { el } from '../lib/page.ts';

export function attentionTable(caption: string, outputs: readonly string[], sources: readonly string[], weights: readonly (readonly number[])[]): HTMLTableElement {
  const table = el('table', { className: 'heatmap' }, el('caption', {}, caption));
  table.append(el('tr', {}, el('th', { scope: 'col' }, ''), ...sources.map((s) => el('th', { scope: 'col' }, s))));
  outputs.forEach((out, i) => {
    const row = el('tr', {}, el('th', { scope: 'row' }, out));
    for (const [j, w] of (weights[i] ?? []).entries()) {
      const cell = el('td', { title: `${out} → ${sources[j] ?? j}: ${w.toFixed(3)}` });
      cell.style.background = `rgba(37, 99, 235, ${Math.min(1, Math.max(0, w)).toFixed(3)})`;
      cell.setAttribute('aria-label', w.toFixed(2));
      row.append(cell);
    }
    table.append(row);
  });
  return table;
}
