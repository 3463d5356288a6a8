import type { Config } from 'jest';

// Two projects: `unit` needs nothing running; `integration` runs against the real local stack
// (Kafka, schema registry, S3, chDB), which its global setup installs and starts.
const transform: Config['transform'] = {
  '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' } }],
};

const config: Config = {
  // A global option (ignored inside a project): integration tests wait on real services.
  testTimeout: 120_000,
  reporters: ['default', '<rootDir>/test/support/totals-reporter.cjs'],
  projects: [
    {
      displayName: 'unit',
      transform,
      testEnvironment: 'node',
      roots: ['<rootDir>'],
      testMatch: ['<rootDir>/**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '/dist/', '/.stack/', '<rootDir>/test/integration/'],
    },
    {
      displayName: 'integration',
      transform,
      testEnvironment: 'node',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
};

export default config;
