#!/usr/bin/env bash
# Scaffolds a non-buildable TypeScript lib: tools/scripts/new-lib.sh <dir under libs> <project name> <alias> <scope> <type>
set -euo pipefail
dir="libs/$1"; name="$2"; alias="$3"; scope="$4"; type="$5"
depth=$(echo "$dir" | awk -F/ '{print NF}'); up=$(printf '../%.0s' $(seq 1 "$depth"))
mkdir -p "$dir/src"
cat > "$dir/project.json" <<JSON
{
  "name": "$name",
  "\$schema": "${up}node_modules/nx/schemas/project-schema.json",
  "sourceRoot": "$dir/src",
  "projectType": "library",
  "tags": ["scope:$scope", "type:$type"],
  "targets": {}
}
JSON
cat > "$dir/tsconfig.json" <<JSON
{
  "extends": "${up}tsconfig.base.json",
  "compilerOptions": { "module": "commonjs", "esModuleInterop": true },
  "files": [],
  "include": [],
  "references": [{ "path": "./tsconfig.lib.json" }, { "path": "./tsconfig.spec.json" }]
}
JSON
cat > "$dir/tsconfig.lib.json" <<JSON
{
  "extends": "./tsconfig.json",
  "compilerOptions": { "outDir": "${up}dist/out-tsc", "declaration": true, "types": ["node"] },
  "include": ["src/**/*.ts"],
  "exclude": ["jest.config.cjs", "src/**/*.spec.ts"]
}
JSON
cat > "$dir/tsconfig.spec.json" <<JSON
{
  "extends": "./tsconfig.json",
  "compilerOptions": { "outDir": "${up}dist/out-tsc", "module": "commonjs", "moduleResolution": "bundler", "types": ["jest", "node"] },
  "include": ["jest.config.cjs", "src/**/*.spec.ts", "src/**/*.d.ts"]
}
JSON
cat > "$dir/jest.config.cjs" <<JS
module.exports = {
  displayName: '$name',
  preset: '${up}jest.preset.js',
  testEnvironment: 'node',
  transform: {
    '^.+\\\\.[tj]s\$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.spec.json' }],
  },
  moduleFileExtensions: ['ts', 'js', 'html'],
  coverageDirectory: '${up}coverage/$dir',
};
JS
cat > "$dir/eslint.config.mjs" <<JS
import baseConfig from '${up}eslint.config.mjs';

export default [...baseConfig];
JS
[ -f "$dir/src/index.ts" ] || echo "export {};" > "$dir/src/index.ts"
node -e "
const fs=require('fs');const p='tsconfig.base.json';const j=JSON.parse(fs.readFileSync(p,'utf8'));
j.compilerOptions.paths=j.compilerOptions.paths||{};j.compilerOptions.paths['$alias']=['./$dir/src/index.ts'];
const sorted={};for(const k of Object.keys(j.compilerOptions.paths).sort())sorted[k]=j.compilerOptions.paths[k];j.compilerOptions.paths=sorted;
fs.writeFileSync(p,JSON.stringify(j,null,2)+'\n');"
