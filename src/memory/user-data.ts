import type { MemoryContext } from './context';

export function userDataOperations(ctx: MemoryContext) {
  void ctx;
  return {};
}
