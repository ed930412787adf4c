import type { MemoryContext } from './context';

export function maintenanceOperations(ctx: MemoryContext) {
  void ctx;
  return {};
}
