/** Attention weights as a table: one row per output token, one column per source position, shaded by weight. */
import { el } from '../lib/page.ts';

/** A row or column header: its text, and optionally a class and a tooltip. */
export type Header = string | { text: string; className?: string; title?: string };

export const ATTENTION_RGB = '37 99 235';

export interface AttentionTableOptions {
  /** Long row headers (sentences) wrap and take the width; the cells stay narrow. */
  wrapRows?: boolean;
}

function header(h: Header, scope: 'row' | 'col'): HTMLTableCellElement {
  const th = el('th', { scope });
  if (typeof h === 'string') th.textContent = h;
  else {
    th.textContent = h.text;
    if (h.className) th.className = h.className;
    if (h.title) th.title = h.title;
  }
  return th;
}

const text = (h: Header | undefined) => (h === undefined ? '' : typeof h === 'string' ? h : h.text);

export function attentionTable(
  caption: string,
  outputs: readonly Header[],
  sources: readonly Header[],
  weights: readonly (readonly number[])[],
  options: AttentionTableOptions = {},
): HTMLTableElement {
  const table = el('table', { className: `heatmap${options.wrapRows ? ' wrap-rows' : ''}` }, el('caption', {}, caption));
  table.append(el('tr', {}, el('th', { scope: 'col' }, ''), ...sources.map((s) => header(s, 'col'))));
  outputs.forEach((out, i) => {
    const row = el('tr', {}, header(out, 'row'));
    for (const [j, w] of (weights[i] ?? []).entries()) {
      const cell = el('td', { title: `${text(out)} → ${text(sources[j]) || j}: ${w.toFixed(3)}` });
      cell.style.background = `rgb(${ATTENTION_RGB} / ${Math.min(1, Math.max(0, w)).toFixed(3)})`;
      cell.setAttribute('aria-label', w.toFixed(2));
      row.append(cell);
    }
    table.append(row);
  });
  return table;
}
