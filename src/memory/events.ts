import type { MemoryContext } from './context';

export function eventOperations(ctx: MemoryContext) {
  void ctx;
  return {};
}
