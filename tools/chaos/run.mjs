#!/usr/bin/env node
// Runs the chaos suite straight from source: ts-node (transpile only) compiles, tsconfig-paths
// resolves the workspace's `@keyledger/*` aliases from tsconfig.base.json against the repository root.
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const require = createRequire(import.meta.url);
const ts = require('typescript');

const base = ts.readConfigFile(path.join(root, 'tsconfig.base.json'), ts.sys.readFile);
if (base.error) throw new Error(ts.flattenDiagnosticMessageText(base.error.messageText, '\n'));

let tsconfigPaths;
try {
  tsconfigPaths = require('tsconfig-paths');
} catch {
  console.error('tools/chaos needs the tsconfig-paths package (npm i -D tsconfig-paths@4.2.0)');
  process.exit(1);
}
require('ts-node').register({ project: path.join(here, 'tsconfig.json'), transpileOnly: true });
tsconfigPaths.register({ baseUrl: root, paths: base.config.compilerOptions.paths, addMatchAll: false });
require('./src/main.ts');
