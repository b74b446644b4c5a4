#!/usr/bin/env node
// Runs the TypeScript benches straight from source: ts-node (transpile only) compiles, tsconfig-paths
// resolves the workspace's `@keyledger/*` aliases from tsconfig.base.json against the repository root.
const path = require('node:path');
const ts = require('typescript');

const root = path.resolve(__dirname, '../..');
const base = ts.readConfigFile(path.join(root, 'tsconfig.base.json'), ts.sys.readFile);
if (base.error) throw new Error(ts.flattenDiagnosticMessageText(base.error.messageText, '\n'));

require('ts-node').register({ project: path.join(__dirname, 'tsconfig.json'), transpileOnly: true });
let tsconfigPaths;
try {
  tsconfigPaths = require('tsconfig-paths');
} catch {
  console.error('tools/bench needs the tsconfig-paths package (npm i -D tsconfig-paths@4.2.0)');
  process.exit(1);
}
tsconfigPaths.register({ baseUrl: root, paths: base.config.compilerOptions.paths, addMatchAll: false });
require('./src/main');
