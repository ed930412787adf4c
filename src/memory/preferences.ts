import type { MemoryContext } from './context';

export function preferenceOperations(ctx: MemoryContext) {
  void ctx;
  return {};
}
