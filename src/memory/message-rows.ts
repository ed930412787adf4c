import type { Role } from './message-input';
import { toDate } from './rows';

export interface StoredMessage {
  messageId: number;
  sessionId: string;
  userId: string;
  role: Role;
  content: string;
  messageType: string;
  messageIndex: number;
  contentHash: string;
  contextHash: string;
  parentMessageId: number | null;
  metadata: Record<string, unknown>;
  idempotencyKey: string | null;
  timestamp: Date;
  createdAt: Date;
  /** True when an earlier message with the same idempotency key was returned instead of storing again. */
  duplicate: boolean;
}

export interface MessageRow {
  message_id: string;
  session_id: string;
  user_id: string;
  role: Role;
  content: string;
  message_type: string;
  message_index: number;
  content_hash: string;
  context_hash: string;
  parent_message_id: string | null;
  metadata: Record<string, unknown>;
  idempotency_key: string | null;
  timestamp: Date | string;
  created_at: Date | string;
}

export const MESSAGE_COLUMNS = `message_id::text, session_id, user_id, role, content, message_type, message_index, content_hash, context_hash,
  parent_message_id::text, metadata, idempotency_key, "timestamp", created_at`;

export const toMessage = (row: MessageRow, duplicate = false): StoredMessage => ({
  messageId: Number(row.message_id),
  sessionId: row.session_id,
  userId: row.user_id,
  role: row.role,
  content: row.content,
  messageType: row.message_type,
  messageIndex: row.message_index,
  contentHash: row.content_hash,
  contextHash: row.context_hash,
  parentMessageId: row.parent_message_id === null ? null : Number(row.parent_message_id),
  metadata: row.metadata,
  idempotencyKey: row.idempotency_key,
  timestamp: toDate(row.timestamp),
  createdAt: toDate(row.created_at),
  duplicate,
});
