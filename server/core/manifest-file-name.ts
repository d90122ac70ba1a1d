/**
 * The type of a manifest field that names a file: relative to the model folder, or an
 * `npm:<package>/<path>` reference (server/runtime/model-file-path.ts). Its own module, importing
 * zod only, so task manifest sections (server/tasks/<task>/spec.ts, which server/core/manifest.ts
 * imports) use it too. Every field of this type is listed by `manifestFiles` (manifest.ts).
 */
import { z } from 'zod';

export const fileName = z
  .string()
  .min(1)
  .refine((f) => !f.includes('..') && !f.startsWith('/') && !f.includes('\\'), 'must be a file inside the model folder, or an npm: reference');
