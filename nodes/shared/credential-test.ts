import fs from 'node:fs';
import type { ICredentialTestFunctions, ICredentialsDecrypted, INodeCredentialTestResult } from 'n8n-workflow';
import { openMemory, redactSecrets } from '../../src';
import { memoryConfigFromCredential, type LtstPostgresCredential } from './credential-config';

/**
 * The credential test: connects and reports the server version, pgvector and the schema version
 * (or "not installed yet"). It writes nothing: an embedded folder that does not exist yet is
 * reported, not created.
 */
export async function ltstMemoryConnectionTest(this: ICredentialTestFunctions, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
  const config = memoryConfigFromCredential((credential.data ?? {}) as LtstPostgresCredential);
  try {
    // Opening checks the settings (schema name, documents table) without connecting.
    const store = openMemory(config);
    if (config.embedded?.dataDir && !fs.existsSync(config.embedded.dataDir)) {
      return { status: 'OK', message: `The embedded database will be created in ${config.embedded.dataDir} on first use.` };
    }
    const health = await store.health();
    const vector = health.vector.installedVersion ? `pgvector ${health.vector.installedVersion}` : 'pgvector missing (semantic search off)';
    const schema = health.installed ? `schema "${health.schema}" at version ${health.version}` : `schema "${health.schema}" not installed yet (the nodes install it)`;
    return { status: 'OK', message: `PostgreSQL ${health.serverVersion}, ${vector}, ${schema}.` };
  } catch (error) {
    const hint = (error as { hint?: string }).hint;
    return { status: 'Error', message: redactSecrets(`${(error as Error).message}${hint ? ` ${hint}` : ''}`) };
  }
}
