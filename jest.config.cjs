/**
 * Jest runs the TypeScript sources through ts-jest. p-retry (and its
 * dependency is-network-error) ship ESM only, so they are transformed too;
 * the published CommonJS build bundles them, so consumers need no transform.
 * @type {import('jest').Config}
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.[tj]s$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.jest.json' }],
  },
  transformIgnorePatterns: ['/node_modules/(?!(p-retry|is-network-error)/)'],
  moduleNameMapper: {
    // The examples import the package by its name, as a project that installed it does.
    '^longrunning$': '<rootDir>/src/index.ts',
    '^longrunning/testing$': '<rootDir>/src/testing/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testTimeout: 30000,
};
