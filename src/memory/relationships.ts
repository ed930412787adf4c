import type { MemoryContext } from './context';

export function relationshipOperations(ctx: MemoryContext) {
  void ctx;
  return {};
}
