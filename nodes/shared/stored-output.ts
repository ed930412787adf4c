import type { IDataObject } from 'n8n-workflow';
import type { StoredMessage } from '../../src';
import { readableMessage } from './context-output';

/**
 * What Store Message outputs for a stored turn: the message as Retrieve Context shows it, plus its
 * user (which the next node reads, as `{{ $json.userId }}`), where it sits in its session and
 * whether it was stored before. With Include Details: the core's row as it is (hashes, idempotency
 * key, created at).
 */
export function storedOutput(message: StoredMessage, includeDetails: boolean): IDataObject {
  if (includeDetails) return { ...message } as unknown as IDataObject;
  const { userId, messageIndex, messageType, parentMessageId, duplicate } = message;
  return { ...readableMessage(message), userId, messageIndex, messageType, ...(parentMessageId !== null ? { parentMessageId } : {}), duplicate };
}
