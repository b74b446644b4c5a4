#!/usr/bin/env node
// Runs the TypeScript benches straight from source (see ../run-from-source.mjs).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runFromSource } from '../run-from-source.mjs';

runFromSource(path.dirname(fileURLToPath(import.meta.url)));
