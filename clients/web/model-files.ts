/**
 * Model files from a seqserve server's repository endpoint (`GET /v1/models/{model}/files/{file}`):
 * revalidated with the server on every load (ETag → 304, so an unchanged file is not downloaded
 * again) and kept in the Cache API, which answers when the server cannot be reached.
 */
export const MODEL_CACHE = 'seqserve-models-v1';

export function modelFileUrl(baseUrl: string, model: string, file: string): string {
  return `${baseUrl}/v1/models/${encodeURIComponent(model)}/files/${file.split('/').map(encodeURIComponent).join('/')}`;
}

/** Bytes of a file received so far, and its size when the server said it (content-length). */
export type DownloadProgress = (loaded: number, total: number | undefined) => void;

export async function fetchModelFile(url: string, useCache: boolean, apiKey?: string, onProgress?: DownloadProgress): Promise<Uint8Array> {
  const cache = useCache && typeof caches !== 'undefined' ? await caches.open(MODEL_CACHE) : undefined;
  onProgress?.(0, undefined);
  let res: Response;
  try {
    res = await fetch(url, { cache: 'no-cache', ...(apiKey ? { headers: { authorization: `Bearer ${apiKey}` } } : {}) });
  } catch (err) {
    const cached = await cache?.match(url);
    if (cached) return new Uint8Array(await cached.arrayBuffer());
    throw new Error(`${url}: the server cannot be reached and the file is not cached (${(err as Error).message})`);
  }
  if (res.status === 401) throw new Error(`${url}: the server needs an API key (HTTP 401)`);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  if (cache) await cache.put(url, res.clone());
  if (!onProgress || !res.body) return new Uint8Array(await res.arrayBuffer());
  return readWithProgress(res.body, Number(res.headers.get('content-length')) || undefined, onProgress);
}

/** A body read chunk by chunk, reporting the bytes received so far after each chunk. */
async function readWithProgress(body: ReadableStream<Uint8Array>, total: number | undefined, onProgress: DownloadProgress): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    onProgress(loaded, total);
  }
  const bytes = new Uint8Array(loaded);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  return bytes;
}
