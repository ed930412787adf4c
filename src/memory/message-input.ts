import { LtstError, invalidInput } from '../errors';
import { sha256 } from './context';
import type { SchemaInfo } from './schema-info';
import { VARCHAR_LIMITS } from '../schema/column-limits';
import { jsonObjectText } from './json-input';
import { optionalDate, optionalId, requireId, requireOneOf, requireRowId, requireText } from './validation';

export const ROLES = ['human', 'ai', 'system', 'tool'] as const;
export type Role = (typeof ROLES)[number];

export interface StoreMessageInput {
  userId: string;
  sessionId: string;
  role: Role;
  content: string;
  messageType?: string;
  parentMessageId?: number | string | null;
  metadata?: Record<string, unknown>;
  /** When the turn happened (imported history keeps its dates); default now. */
  timestamp?: Date | string | number;
  /** A retry with the same key returns the stored message instead of storing it again. */
  idempotencyKey?: string;
  embedding?: number[] | null;
}

/** One message, validated and ready for the INSERT. */
export interface PreparedMessage {
  userId: string;
  sessionId: string;
  role: Role;
  content: string;
  messageType: string;
  parentMessageId: string | null;
  metadata: string;
  timestamp: Date | null;
  idempotencyKey: string | null;
  embedding: Float32Array | null;
  contentHash: string;
  contextHash: string;
  /** Its place in the caller's input (a storeMessages batch, an importMessages input), for errors found later. */
  itemIndex: number;
}

/** The error as one about item `index` of the batch: itemIndex set, its field (if any) prefixed (messages[3].content). */
export function atItem(index: number, error: LtstError): LtstError {
  const field = error.field === undefined ? undefined : `messages[${index}].${error.field}`;
  const message = field === undefined ? error.message : error.message.replace(error.field as string, field);
  return new LtstError(error.code, message, { field, hint: error.hint, sqlState: error.sqlState, itemIndex: index, cause: error.cause });
}

function inBatch<T>(index: number, prepare: () => T): T {
  try {
    return prepare();
  } catch (error) {
    throw error instanceof LtstError ? atItem(index, error) : error;
  }
}

/** Validates an embedding against the installed dimension; pgvector keeps 4-byte floats. */
export function prepareEmbedding(value: unknown, info: SchemaInfo): Float32Array | null {
  if (value === undefined || value === null) return null;
  if (!info.hasEmbedding) {
    throw invalidInput('embedding', 'was given but semantic search is disabled (pgvector is not installed)', 'Install pgvector and run migrate, or store the message without an embedding.');
  }
  const vector = Array.isArray(value) && value.every((x) => typeof x === 'number') ? Float32Array.from(value) : undefined;
  if (!vector || vector.length !== info.dimensions || !vector.every(Number.isFinite)) {
    const got = Array.isArray(value) ? `${value.length} numbers` : typeof value;
    throw invalidInput('embedding', `must be ${info.dimensions} finite numbers within ±3.4e38, got ${got}`, `Use an embedding model with ${info.dimensions} dimensions (the dimension fixed when the schema was installed).`);
  }
  return vector;
}

function prepareParent(value: unknown): string | null {
  if (value === undefined || value === null || value === '') return null;
  return requireRowId('parentMessageId', value, 'Use the messageId returned when the parent was stored.');
}

export function prepareMessages(messages: StoreMessageInput[], info: SchemaInfo, maxContentBytes: number): PreparedMessage[] {
  if (!Array.isArray(messages) || messages.length === 0) {
    throw invalidInput('messages', 'is empty', 'Pass at least one message.');
  }
  return messages.map((message, index) => prepareMessage(message, index, info, maxContentBytes));
}

/** One message, `index` its place in the caller's input (errors name it: messages[3].content). */
export function prepareMessage(message: StoreMessageInput, index: number, info: SchemaInfo, maxContentBytes: number): PreparedMessage {
  return inBatch(index, () => {
    const sessionId = requireId('sessionId', message?.sessionId);
    const role = requireOneOf('role', message.role, ROLES);
    const content = requireText('content', message.content, maxContentBytes);
    const contentHash = sha256(content);
    return {
      userId: requireId('userId', message.userId),
      sessionId,
      role,
      content,
      messageType: optionalId('messageType', message.messageType, VARCHAR_LIMITS.conversation_messages.message_type) ?? 'message',
      parentMessageId: prepareParent(message.parentMessageId),
      metadata: jsonObjectText('metadata', message.metadata, maxContentBytes),
      timestamp: optionalDate('timestamp', message.timestamp) ?? null,
      idempotencyKey: optionalId('idempotencyKey', message.idempotencyKey) ?? null,
      embedding: prepareEmbedding(message.embedding, info),
      contentHash,
      contextHash: sha256(`${sessionId}\u0000${role}\u0000${contentHash}`),
      itemIndex: index,
    };
  });
}
