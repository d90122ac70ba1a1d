#!/usr/bin/env node
// Entry point of the `seqserve` command: runs the TypeScript CLI through tsx's loader.
import { register } from 'tsx/esm/api';

register();
await import('../clients/cli/seqserve.ts');
