import type { MemoryContext } from './context';

export function messageOperations(ctx: MemoryContext) {
  void ctx;
  return {};
}
