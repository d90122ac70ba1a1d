/**
 * What a model says about itself: `GET /v1/models/{model}` (its task, and `knows`, the words it
 * knows by category, when its manifest states them), or the manifest file itself when the server
 * cannot be asked (offline, the page and the model files kept by the service worker).
 */
import { authHeaders, base } from './page.ts';

export interface ModelInfo {
  id: string;
  task: string;
  knows?: Record<string, string[]>;
}

export async function modelInfo(name: string): Promise<ModelInfo> {
  try {
    const res = await fetch(`${base}/v1/models/${encodeURIComponent(name)}`, { headers: authHeaders() });
    if (res.ok) return (await res.json()) as ModelInfo;
  } catch {
    // offline: the manifest below may be kept
  }
  const res = await fetch(`${base}/v1/models/${encodeURIComponent(name)}/files/manifest.json`, { headers: authHeaders() });
  if (!res.ok) throw new Error(`model "${name}": HTTP ${res.status}`);
  const manifest = (await res.json()) as { name: string; task: string; knows?: Record<string, string[]> };
  return { id: manifest.name, task: manifest.task, ...(manifest.knows ? { knows: manifest.knows } : {}) };
}
