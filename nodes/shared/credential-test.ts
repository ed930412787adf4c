import type { ICredentialTestFunctions, ICredentialsDecrypted, INodeCredentialTestResult } from 'n8n-workflow';
import { openMemory, redactSecrets } from '../../src';
import { memoryConfigFromCredential, type LtstPostgresCredential } from './credential-config';
import { migrateOnce } from './memory-store';

/**
 * The credential test: connects and reports the server version, pgvector and the schema version.
 * An embedded database is n8n's own: testing creates it and installs the schema (n8n tests a
 * credential when it is saved), so the first execution does not wait for that. A server is only
 * read: its schema is installed by the nodes' first run, or by a DBA.
 */
export async function ltstMemoryConnectionTest(this: ICredentialTestFunctions, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
  const config = memoryConfigFromCredential((credential.data ?? {}) as LtstPostgresCredential);
  try {
    // Opening checks the settings (schema name, documents table) without connecting.
    const store = openMemory(config);
    if (config.embedded) await migrateOnce(config);
    const health = await store.health();
    const where = config.embedded ? ` (embedded, in ${config.embedded.dataDir})` : '';
    const vector = health.vector.installedVersion ? `pgvector ${health.vector.installedVersion}` : 'pgvector missing (semantic search off)';
    const schema = health.installed ? `schema "${health.schema}" at version ${health.version}` : `schema "${health.schema}" not installed yet (the nodes install it)`;
    return { status: 'OK', message: `PostgreSQL ${health.serverVersion}${where}, ${vector}, ${schema}.` };
  } catch (error) {
    const hint = (error as { hint?: string }).hint;
    return { status: 'Error', message: redactSecrets(`${(error as Error).message}${hint ? ` ${hint}` : ''}`) };
  }
}
