/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // End-to-end tests need a real n8n: `npm run test:e2e`.
  testPathIgnorePatterns: ['/node_modules/', '/test/e2e/'],
  transform: { '^.+\\.ts$': 'ts-jest' },
  // Integration tests open real databases; PGlite takes a few seconds to start.
  testTimeout: 60_000,
  // Two cores: more workers only fight over them.
  maxWorkers: 2,
};
