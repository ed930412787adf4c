import { configWithoutCloudSupport } from '@n8n/node-cli/eslint';
import { globalIgnores } from 'eslint/config';

// n8n's community-node rules without n8n Cloud support (a database driver never runs on Cloud).
export default [
  ...configWithoutCloudSupport,
  // Development tooling that is never packed: tests, benchmarks and scripts start processes and print.
  globalIgnores(['test', 'bench', 'scripts', '.ci']),
  {
    // The core library (also published as n8n-nodes-ltst-memory/core) throws LtstError with a code,
    // field and hint; the nodes turn it into a NodeOperationError for the item (nodes/shared/node-errors.ts).
    files: ['src/**/*.ts'],
    rules: { '@n8n/community-nodes/require-node-api-error': 'off' },
  },
];
