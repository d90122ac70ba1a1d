/** Slot filling: the sentence with each slot's span highlighted in its slot's colour, and a legend with the colours. */
import type { SlotFillingResult } from '../../clients/web/seqserve-web.ts';
import { $, action, clear, el, inPage, mode } from '../lib/page.ts';
import { postJson } from '../lib/server-api.ts';

/**
 * Light, distinct backgrounds (Tailwind's 200 shades): the page's text (#111827) on each has a
 * contrast ratio of at least 12:1. Slots take them in order of appearance, so the slots of one
 * sentence never share a colour (up to ten kinds, as many as the model has).
 */
export const SLOT_COLOURS = ['#bfdbfe', '#fde68a', '#bbf7d0', '#fecaca', '#ddd6fe', '#a5f3fc', '#fed7aa', '#fbcfe8', '#d9f99d', '#e5e7eb'];

/** What the model's slot names mean. */
const MEANING: Record<string, string> = {
  'fromloc.city_name': 'departure city',
  'toloc.city_name': 'destination city',
  'fromloc.airport_name': 'departure airport',
  'toloc.airport_name': 'destination airport',
  depart_date: 'departure date',
  arrive_date: 'arrival date',
  depart_time: 'departure time',
  arrive_time: 'arrival time',
  airline_name: 'airline',
  class_type: 'travel class',
};

export function slotsView(): void {
  $('slots-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const text = $<HTMLInputElement>('slots-input').value;
    action('view-slots', 'slot filling', async () => {
      const result = mode() === 'page' ? await (await inPage('slots')).slots(text) : await postJson<SlotFillingResult>('/v1/slots', { text });
      const out = clear($('slots-out'));
      const legend = clear($('slots-legend'));
      const colours = new Map<string, string>();
      let pos = 0;
      for (const s of [...result.slots].sort((a, b) => a.start - b.start)) {
        const colour = colours.get(s.name) ?? SLOT_COLOURS[colours.size % SLOT_COLOURS.length];
        colours.set(s.name, colour);
        out.append(text.slice(pos, s.start));
        const mark = el(
          'mark',
          { className: 'slot', title: `${s.name}${MEANING[s.name] ? ` (${MEANING[s.name]})` : ''}, confidence ${s.confidence.toFixed(2)}` },
          text.slice(s.start, s.end),
          el('span', { className: 'slot-name' }, ` ${s.name}`),
        );
        mark.style.background = colour;
        out.append(mark);
        const swatch = el('span', { className: 'swatch' });
        swatch.style.background = colour;
        swatch.setAttribute('aria-hidden', 'true');
        legend.append(el('li', {}, swatch, el('span', {}, el('strong', {}, s.name), MEANING[s.name] ? ` (${MEANING[s.name]})` : '', `: ${s.value}`)));
        pos = s.end;
      }
      out.append(text.slice(pos));
      if (result.slots.length === 0) legend.append(el('li', {}, 'no slots found: the model tags flight-booking requests only'));
    });
  });
}
