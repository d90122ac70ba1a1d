/**
 * The project folder (package.json, proto/, models/, dist/), whether this module runs from the
 * TypeScript sources (`server/`) or from the compiled output (`build/server/`).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

export const PROJECT_ROOT = existsSync(path.join(here, '..', 'package.json')) ? path.resolve(here, '..') : path.resolve(here, '..', '..');
