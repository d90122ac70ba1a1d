/** The legend of an attention picture: a colour ramp from its lowest to its highest weight, with what they mean. */
import { el } from '../lib/page.ts';

export function colourScale(label: string, from: string, to: string, low: string, high: string): HTMLElement {
  const ramp = el('span', { className: 'ramp' });
  ramp.style.background = `linear-gradient(to right, ${from}, ${to})`;
  ramp.setAttribute('role', 'img');
  ramp.setAttribute('aria-label', `colour scale from ${low} to ${high}`);
  return el('div', { className: 'scale' }, el('span', {}, label), el('span', {}, low), ramp, el('span', {}, high));
}
