/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': 'ts-jest' },
  // Integration tests open real databases; PGlite takes a few seconds to start.
  testTimeout: 60_000,
  // Two cores: more workers only fight over them.
  maxWorkers: 2,
};
