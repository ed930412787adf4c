import { latestVersion, loadMigrations } from '../../src/schema/migrations';

/** Every migration's name as reports list it ('0001_core', …), so tests need no edit per migration. */
export const ALL_MIGRATIONS = loadMigrations().map((m) => `${String(m.version).padStart(4, '0')}_${m.name}`);
/** The ones that apply without pgvector. */
export const WITHOUT_VECTOR = ALL_MIGRATIONS.filter((_, i) => !loadMigrations()[i].requiresVector);
export const LATEST_VERSION = latestVersion();
/** The ones that wait for pgvector. */
export const VECTOR_ONLY = ALL_MIGRATIONS.filter((name) => !WITHOUT_VECTOR.includes(name));
