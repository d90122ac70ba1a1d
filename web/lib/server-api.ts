/** The demo's "on the server" mode: seqserve's HTTP APIs, with server-sent events read as they arrive. */
import { sseEvents } from '../../clients/lib/http-client.ts';
import { authHeaders, base } from './page.ts';

/** The JSON data of each server-sent event of a response (read by the client library, which raises the in-stream error event), until `[DONE]` or the end. */
export async function* sseData<T>(res: Response): AsyncGenerator<T> {
  if (!res.ok) throw new Error(await errorText(res));
  yield* sseEvents<T>(res);
}

export async function errorText(res: Response): Promise<string> {
  const body = (await res.json().catch(() => ({}))) as { error?: { message?: string } | string };
  const message = typeof body.error === 'string' ? body.error : body.error?.message;
  const said = message ? `: ${message}` : '';
  if (res.status === 401) return `the server needs an API key: enter it above (HTTP 401${said})`;
  if (res.status === 403) return `the server refused this API key (HTTP 403${said})`;
  if (res.status === 404) return `the server does not have that (HTTP 404${said}); it may serve other models`;
  if (res.status === 413) return `the upload is larger than the server accepts (HTTP 413${said})`;
  if (res.status === 429 || res.status === 503) return `the server is busy: try again in a moment (HTTP ${res.status}${said})`;
  if (res.status >= 400 && res.status < 500) return `the server refused the request (HTTP ${res.status}${said})`;
  return `HTTP ${res.status}${said}`;
}

export async function postJson<T>(path: string, body: unknown): Promise<T> {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...authHeaders() }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(await errorText(res));
  return (await res.json()) as T;
}

export function postStream<T>(path: string, body: FormData | object): Promise<AsyncGenerator<T>> {
  const init: RequestInit =
    body instanceof FormData
      ? { method: 'POST', headers: authHeaders(), body }
      : { method: 'POST', headers: { 'content-type': 'application/json', ...authHeaders() }, body: JSON.stringify(body) };
  return fetch(`${base}${path}`, init).then((res) => sseData<T>(res));
}
