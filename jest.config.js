/** Three tiers, named for what they touch (CONTRIBUTING.md, "Tests we expect"). */
const moduleNameMapper = {
  '^@rescind/config-env$': '<rootDir>/libs/config-env/src',
  '^@rescind/contracts$': '<rootDir>/libs/contracts/src',
  '^@rescind/rules$': '<rootDir>/libs/rules/src',
  '^@rescind/revocation-consumer$': '<rootDir>/libs/revocation-consumer/src',
  '^@rescind/revocation-consumer/nest$': '<rootDir>/libs/revocation-consumer/src/nest',
  '^@rescind/revocation-consumer/prometheus$': '<rootDir>/libs/revocation-consumer/src/prometheus',
};
const common = {
  rootDir: __dirname,
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.spec.json' }] },
  moduleFileExtensions: ['ts', 'js', 'json'],
  moduleNameMapper,
};

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: [
        '<rootDir>/apps/**/*.spec.ts',
        '<rootDir>/libs/**/*.spec.ts',
        '<rootDir>/tools/**/*.spec.ts',
      ],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
    {
      ...common,
      displayName: 'chaos',
      testMatch: ['<rootDir>/test/chaos/**/*.spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
  testTimeout: 60_000,
};
