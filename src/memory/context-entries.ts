import type { MemoryContext } from './context';

export function contextOperations(ctx: MemoryContext) {
  void ctx;
  return {};
}
