// Runs a tool's TypeScript straight from source: ts-node (transpile only) compiles, tsconfig-paths
// resolves the workspace's `@keyledger/*` aliases from tsconfig.base.json against the repository root.
import { createRequire } from 'node:module';
import path from 'node:path';

/** Registers ts-node with the tool's tsconfig.json in `toolDir` and the workspace aliases, then loads `entry` there. */
export function runFromSource(toolDir, entry = './src/main.ts') {
  const root = path.resolve(toolDir, '../..');
  const require = createRequire(path.join(toolDir, 'run.mjs'));
  const ts = require('typescript');

  const base = ts.readConfigFile(path.join(root, 'tsconfig.base.json'), ts.sys.readFile);
  if (base.error) throw new Error(ts.flattenDiagnosticMessageText(base.error.messageText, '\n'));

  let tsconfigPaths;
  try {
    tsconfigPaths = require('tsconfig-paths');
  } catch {
    console.error(`${path.relative(root, toolDir)} needs the tsconfig-paths package (npm i -D tsconfig-paths@4.2.0)`);
    process.exit(1);
  }
  require('ts-node').register({ project: path.join(toolDir, 'tsconfig.json'), transpileOnly: true });
  tsconfigPaths.register({ baseUrl: root, paths: base.config.compilerOptions.paths, addMatchAll: false });
  require(entry);
}
