/**
 * What every view of the demo shares: element lookup, the status bar (a spinner and a download
 * progress bar while something runs, errors in words a visitor can act on with the raw detail kept),
 * the mode, in-page models, and running a view's action with its buttons disabled.
 */
import { loadWebModel, type WebModel, type WebModelProgress } from '../../clients/web/seqserve-web.ts';

export const base = location.origin;

export const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
};

/** The status line; `busy` shows the spinner (something is running). */
export function status(text: string, busy = false): void {
  $('status').textContent = text;
  $('status-spinner').hidden = !busy;
  $('status-bar').setAttribute('aria-busy', String(busy));
  if (!busy) progress(undefined);
  $('status-detail').hidden = true;
  $('status-dismiss').hidden = true;
  $('status-bar').classList.remove('error');
}

/** The download progress bar: `loaded` of `total` bytes (an unknown total shows a moving bar); undefined hides it. */
function progress(p: { loaded: number; total: number | undefined } | undefined): void {
  const bar = $<HTMLProgressElement>('status-progress');
  bar.hidden = !p;
  if (!p) return;
  if (p.total) {
    bar.max = p.total;
    bar.value = Math.min(p.loaded, p.total);
  } else bar.removeAttribute('value'); // indeterminate
}

const MB = (n: number) => (n / 1e6).toFixed(n < 1e6 ? 2 : 1);

/** Shows a model file's download: "downloading the chat model (encoder.onnx, 1.2 of 3.3 MB)…". */
export function downloadProgress(p: WebModelProgress): void {
  const size = p.total ? `${MB(p.loaded)} of ${MB(p.total)} MB` : p.loaded ? `${MB(p.loaded)} MB` : 'starting';
  status(`downloading the ${p.model} model into the page (${p.file}, ${size})…`, true);
  progress(p);
}

/** A failure in words a visitor can act on; `detail` is the raw message, kept for whoever needs it. */
export function explain(err: unknown): { message: string; detail: string } {
  const detail = err instanceof Error ? err.message : String(err);
  const unreachable = /failed to fetch|networkerror|load failed|network request failed|cannot be reached/i.test(detail);
  if (unreachable && /is not cached/.test(detail)) {
    return {
      message: `the model's files could not be downloaded: the server at ${base} could not be reached and they were not downloaded before. Check that seqserve is running and this computer is online, then try again.`,
      detail,
    };
  }
  if (unreachable) {
    return {
      message: `the server at ${base} could not be reached. Check that seqserve is still running and that this computer is online; "in the page" runs models already downloaded without the server.`,
      detail,
    };
  }
  // a server error (the server's answer, not a refusal of the request): where to look
  if (/^HTTP 5\d\d/.test(detail)) return { message: `the server failed to answer (${detail}); its log says why.`, detail };
  return { message: detail, detail };
}

/** Shows a failure: the friendly message, and the raw detail under "details" when it says more. */
export function failure(what: string, err: unknown): void {
  const { message, detail } = explain(err);
  status(`${what} failed: ${message}`);
  $('status-bar').classList.add('error');
  $('status-dismiss').hidden = false;
  $('status-detail').hidden = detail === message;
  $('status-detail-text').textContent = detail;
}

document.getElementById('status-dismiss')?.addEventListener('click', () => status(''));

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

/** The model loaded in the page (once; a failed load is retried next time), its download shown in the status bar. */
export function inPage(name: string): Promise<WebModel> {
  let model = models.get(name);
  if (!model) {
    status(`loading the ${name} model into the page…`, true);
    // the sessions run in the page's session worker, so the page stays responsive while a model runs
    model = loadWebModel(base, name, { worker: true, onProgress: downloadProgress, ...(apiKey() ? { apiKey: apiKey() } : {}) }).catch((err: Error) => {
      models.delete(name);
      // a download that failed is not the browser's fault
      const download = /HTTP \d{3}|cannot be reached/.test(err.message);
      throw new Error(`the ${name} model ${download ? 'could not be downloaded' : 'cannot run in this browser'}: ${err.message}`);
    });
    models.set(name, model);
  }
  // once loaded, the status line says what runs again (it said what was downloading)
  return model.then((m) => {
    if (current) status(current, true);
    return m;
  });
}

/** What the action under way says in the status line. */
let current = '';

/**
 * Runs a view's action: the spinner and a status line while it runs, the view's buttons disabled
 * (one run at a time), a failure explained (never unhandled). `view` is the view's section id;
 * `local` is for work that runs nowhere in particular (loading a sample).
 */
export function action(view: string, what: string, run: () => Promise<void>, options: { local?: boolean } = {}): void {
  const section = $(view);
  const buttons = Array.from(section.querySelectorAll<HTMLButtonElement>('button')).filter((b) => !b.disabled);
  for (const b of buttons) b.disabled = true;
  section.setAttribute('aria-busy', 'true');
  current = options.local ? `${what}…` : mode() === 'page' ? `${what} in the page…` : `${what} on the server…`;
  status(current, true);
  const done = () => {
    current = '';
    for (const b of buttons) b.disabled = false;
    section.setAttribute('aria-busy', 'false');
  };
  run().then(
    () => {
      done();
      status('');
    },
    (err: unknown) => {
      done();
      failure(what, err);
    },
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
