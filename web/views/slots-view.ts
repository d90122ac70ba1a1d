/** Slot filling: the sentence with each slot's span highlighted in its slot's colour, and a legend. */
import type { SlotFillingResult } from '../../clients/web/seqserve-web.ts';
import { $, action, clear, el, inPage, mode } from '../lib/page.ts';
import { postJson } from '../lib/server-api.ts';

/** A stable colour per slot name. */
function hue(name: string): number {
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.charCodeAt(0)) % 360;
  return h;
}

export function slotsView(): void {
  $('slots-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const text = $<HTMLInputElement>('slots-input').value;
    action('slot filling', async () => {
      const result = mode() === 'page' ? await (await inPage('slots')).slots(text) : await postJson<SlotFillingResult>('/v1/slots', { text });
      const out = clear($('slots-out'));
      const legend = clear($('slots-legend'));
      let pos = 0;
      for (const s of [...result.slots].sort((a, b) => a.start - b.start)) {
        out.append(text.slice(pos, s.start));
        const mark = el('mark', { className: 'slot', title: s.name }, text.slice(s.start, s.end), el('span', { className: 'slot-name' }, ` ${s.name}`));
        mark.style.background = `hsl(${hue(s.name)} 85% 82%)`;
        out.append(mark);
        legend.append(el('li', {}, `${s.name}: ${s.value}`));
        pos = s.end;
      }
      out.append(text.slice(pos));
      if (result.slots.length === 0) legend.append(el('li', {}, 'no slots found'));
    });
  });
}
