import type { ICredentialType, INodeProperties } from 'n8n-workflow';

const server = { show: { connection: ['server'] } };

/** Where LTST memory lives: a PostgreSQL server (with pgvector for semantic search) or the embedded database. */
export class LtstMemoryPostgresApi implements ICredentialType {
  name = 'ltstMemoryPostgresApi';

  displayName = 'LTST Memory Postgres';

  icon = { light: 'file:ltst.svg', dark: 'file:ltst.dark.svg' } as const;

  documentationUrl = 'https://www.npmjs.com/package/n8n-nodes-ltst-memory#credentials';

  properties: INodeProperties[] = [
    {
      displayName: 'Connection',
      name: 'connection',
      type: 'options',
      options: [
        { name: 'Server', value: 'server', description: 'A PostgreSQL server; pgvector enables semantic search' },
        { name: 'Embedded', value: 'embedded', description: 'PostgreSQL inside n8n (PGlite) in a folder: nothing to install' },
      ],
      default: 'server',
    },
    { displayName: 'Host', name: 'host', type: 'string', default: 'localhost', displayOptions: server },
    { displayName: 'Port', name: 'port', type: 'number', default: 5432, displayOptions: server },
    { displayName: 'Database', name: 'database', type: 'string', default: 'postgres', displayOptions: server },
    { displayName: 'User', name: 'user', type: 'string', default: 'postgres', displayOptions: server },
    { displayName: 'Password', name: 'password', type: 'string', typeOptions: { password: true }, default: '', displayOptions: server },
    {
      displayName: 'SSL',
      name: 'ssl',
      type: 'options',
      // The values are libpq's modes (saved credentials keep them); the names say what each does here.
      options: [
        { name: 'Unencrypted (Disable)', value: 'disable', description: 'Connects without SSL' },
        { name: 'Unencrypted, Same as Disable (Allow)', value: 'allow', description: "Also connects without SSL: this driver cannot try unencrypted first and fall back to SSL as libpq's allow does" },
        { name: 'Encrypted, Certificate Not Checked (Require)', value: 'require', description: "Encrypts; does not check the server's certificate" },
        { name: 'Encrypted and Verified (Verify Full)', value: 'verify-full', description: "Encrypts and checks the server's certificate and host name" },
      ],
      default: 'disable',
      displayOptions: server,
    },
    {
      displayName: 'CA Certificate',
      name: 'caCertificate',
      type: 'string',
      typeOptions: { password: true, rows: 4 },
      default: '',
      description: 'PEM of the certificate authority; empty uses the system store',
      displayOptions: { show: { connection: ['server'], ssl: ['verify-full'] } },
    },
    {
      displayName: 'Ignore SSL Issues (Insecure)',
      name: 'ignoreSslIssues',
      type: 'boolean',
      default: false,
      displayOptions: { show: { connection: ['server'], ssl: ['verify-full'] } },
    },
    {
      displayName: 'Maximum Connections',
      name: 'maxConnections',
      type: 'number',
      typeOptions: { minValue: 1 },
      default: 10,
      description: 'Per n8n process (each queue-mode worker has its own pool)',
      displayOptions: server,
    },
    {
      displayName: 'Data Folder',
      name: 'dataDir',
      type: 'string',
      default: '',
      placeholder: '~/.n8n/ltst-memory',
      description: 'Where the embedded database keeps its files; empty uses ltst-memory in the n8n user folder',
      displayOptions: { show: { connection: ['embedded'] } },
    },
    { displayName: 'Schema', name: 'schema', type: 'string', default: 'public', description: 'Schema for the memory tables (lowercase letters, digits, underscores)' },
    {
      displayName: 'Documents Table',
      name: 'documentsTable',
      type: 'string',
      default: '',
      placeholder: 'document_chunks',
      description:
        "Table or schema.table that Retrieve Context searches with Include Documents: columns content, embedding and optionally metadata. Empty: no documents. LTST's own tables are refused.",
    },
    {
      displayName: 'Documents User Column',
      name: 'documentsUserColumn',
      type: 'string',
      default: '',
      placeholder: 'user_id',
      description: "Column of the documents table holding each document's user ID: each user then gets only their own documents. Empty: every user of this credential shares all the documents.",
    },
    {
      displayName: 'Embedding Dimension',
      name: 'dimensions',
      type: 'number',
      typeOptions: { minValue: 1, maxValue: 2000 },
      default: 384,
      description: 'Fixed when the schema is installed; must match the embedding model',
    },
    {
      // n8n's editor shows only "Connection tested successfully" for a test that passes, never its message.
      displayName:
        "Testing connects and reads the PostgreSQL and pgvector versions and the schema version (an Embedded database is created and its schema installed); n8n's editor shows them only when the test fails. To see them, run LTST Memory Maintenance with Health.",
      name: 'testNotice',
      type: 'notice',
      default: '',
    },
  ];
}
