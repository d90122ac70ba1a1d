/** What every view of the demo shares: element lookup, the status line, the mode, in-page models. */
import { loadWebModel, type WebModel } from '../../clients/web/seqserve-web.ts';

export const base = location.origin;

export const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
};

export function status(text: string): void {
  $('status').textContent = text;
}

/** The API key typed into the page (kept for this tab only), for servers that require one. */
export function apiKey(): string | undefined {
  const input = document.getElementById('api-key') as HTMLInputElement | null;
  const key = input?.value.trim();
  if (key) sessionStorage.setItem('seqserve-api-key', key);
  return key || undefined;
}

export function authHeaders(): Record<string, string> {
  const key = apiKey();
  return key ? { authorization: `Bearer ${key}` } : {};
}

export type Mode = 'page' | 'server';
export const mode = (): Mode => (document.querySelector<HTMLInputElement>('input[name=mode]:checked')?.value ?? 'page') as Mode;

const models = new Map<string, Promise<WebModel>>();

/** The model loaded in the page (once; a failed load is retried next time). */
export function inPage(name: string): Promise<WebModel> {
  let model = models.get(name);
  if (!model) {
    status(`loading the ${name} model into the page…`);
    // the sessions run in the page's session worker, so the page stays responsive while a model runs
    model = loadWebModel(base, name, { worker: true, ...(apiKey() ? { apiKey: apiKey() } : {}) }).catch((err: Error) => {
      models.delete(name);
      throw new Error(`the ${name} model cannot run in this browser: ${err.message}`);
    });
    models.set(name, model);
  }
  return model;
}

/** Runs a view's action, reporting progress and failure in the status line (never unhandled). */
export function action(what: string, run: () => Promise<void>): void {
  status(mode() === 'page' ? `${what} in the page…` : `${what} on the server…`);
  run().then(
    () => status(''),
    (err: Error) => status(`${what} failed: ${err.message}`),
  );
}

export function clear(el: HTMLElement): HTMLElement {
  el.replaceChildren();
  return el;
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}
