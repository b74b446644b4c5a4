// Runs a TypeScript module of the benches in a worker thread, compiled the way run.mjs compiles the
// benches: ts-node (transpile only) and the workspace's `@keyledger/*` aliases from tsconfig.base.json.
const path = require('node:path');
const { workerData } = require('node:worker_threads');
const ts = require('typescript');

const root = path.resolve(__dirname, '../..');
const base = ts.readConfigFile(path.join(root, 'tsconfig.base.json'), ts.sys.readFile);
if (base.error) throw new Error(ts.flattenDiagnosticMessageText(base.error.messageText, '\n'));
require('ts-node').register({ project: path.join(__dirname, 'tsconfig.json'), transpileOnly: true });
require('tsconfig-paths').register({ baseUrl: root, paths: base.config.compilerOptions.paths, addMatchAll: false });
require(workerData.module);
