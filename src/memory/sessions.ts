import type { MemoryContext } from './context';

export function sessionOperations(ctx: MemoryContext) {
  void ctx;
  return {};
}
