/**
 * Model files from a seqserve server's repository endpoint (`GET /v1/models/{model}/files/{file}`):
 * revalidated with the server on every load (ETag → 304, so an unchanged file is not downloaded
 * again) and kept in the Cache API, which answers when the server cannot be reached.
 */
export const MODEL_CACHE = 'seqserve-models-v1';

export function modelFileUrl(baseUrl: string, model: string, file: string): string {
  return `${baseUrl}/v1/models/${encodeURIComponent(model)}/files/${file.split('/').map(encodeURIComponent).join('/')}`;
}

export async function fetchModelFile(url: string, useCache: boolean, apiKey?: string): Promise<Uint8Array> {
  const cache = useCache && typeof caches !== 'undefined' ? await caches.open(MODEL_CACHE) : undefined;
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
  return new Uint8Array(await res.arrayBuffer());
}
