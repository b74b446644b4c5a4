module.exports = {
  displayName: 'tools',
  preset: '../jest.preset.js',
  testEnvironment: 'node',
  transform: {
    '^.+\\.[tj]s$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.spec.json' }],
    // tools/start/*.mjs are plain ESM run by node; jest loads them as CommonJS through babel
    '^.+\\.mjs$': [
      'babel-jest',
      { babelrc: false, configFile: false, plugins: ['@babel/plugin-transform-modules-commonjs'] },
    ],
  },
  moduleFileExtensions: ['ts', 'js', 'mjs', 'html'],
  // tools/chaos is a project of its own (it needs the built apps).
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/chaos/'],
  coverageDirectory: '../coverage/tools',
};
