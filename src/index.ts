// The public, n8n-free API of LTST memory (`n8n-nodes-ltst-memory/core`).
export { closeAllMemory, openMemory, type MemoryHealthReport, type MemoryStore } from './memory-store';
export { LtstError, type LtstErrorCode } from './errors';
export { DEFAULT_DIMENSIONS, DEFAULT_SCHEMA, type EmbeddedConfig, type MemoryConfig, type ServerConnectionConfig, type SslConfig } from './config';
export type { MigrationReport } from './schema/migrator';
export type { HealthReport } from './schema/health';
export type { VectorStatus } from './schema/vector-extension';
export type { MemoryOperations } from './memory-store';
export type { MemoryOptions } from './memory/context';
export type { StoreMessageInput, Role } from './memory/message-input';
export type { StoredMessage } from './memory/messages';
export type { Session, SessionStatus, UpdateSessionInput } from './memory/sessions';
export type { UsageReport } from './memory/usage';
