module.exports = {
  displayName: 'chaos',
  preset: '../../jest.preset.js',
  testEnvironment: 'node',
  transform: {
    '^.+\\.[tj]s$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.spec.json' }],
  },
  moduleFileExtensions: ['ts', 'js'],
  // The short chaos run starts a whole stack (its own Postgres, NATS, two of every app) and injects every fault once.
  testTimeout: 600_000,
};
