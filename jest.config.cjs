/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  // One FerretDB for the whole run; each integration test file uses its own database.
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  coveragePathIgnorePatterns: ['/node_modules/', '/generated/'],
  testTimeout: 30000,
  // After the merge of the workflows, reliability and indexed-search branches, jest's parent
  // process stays alive once every test has passed and globalTeardown has stopped FerretDB (no
  // child process, no socket left: four pipes of a finished worker). Until it is found
  // (--detectOpenHandles), end the run when the results are in, so CI cannot hang on it.
  forceExit: true,
};
