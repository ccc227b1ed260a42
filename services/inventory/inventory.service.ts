// STUB: to be implemented (issue 3). The exported names and signatures are the agreed contract.
import type { Db } from '../../db/client.js';
import type { ReservationStatus } from '../../db/schema.js';
import type { Clock } from '../../lib/clock.js';

export interface StockLevel {
  productId: number;
  onHand: number;
  reserved: number;
  available: number;
}

export interface StockLine {
  productId: number;
  quantity: number;
}

export interface Reservation {
  checkoutId: string;
  status: ReservationStatus;
  expiresAt: Date;
  lines: StockLine[];
}

export type InventoryService = ReturnType<typeof createInventoryService>;

export function createInventoryService(_deps: { db: Db; clock: Clock }) {
  const notYet = (): never => {
    throw new Error('inventory service not implemented yet');
  };
  return {
    getStock: async (_productId: number): Promise<StockLevel> => notYet(),
    setOnHand: async (_productId: number, _onHand: number): Promise<StockLevel> => notYet(),
    reserve: async (_checkoutId: string, _lines: StockLine[], _ttlMs: number): Promise<Reservation> =>
      notYet(),
    commit: async (_checkoutId: string): Promise<Reservation> => notYet(),
    release: async (_checkoutId: string): Promise<{ released: number }> => notYet(),
    releaseExpired: async (_options: {
      now?: Date;
      graceMs?: number;
      limit?: number;
    }): Promise<{ released: number; checkoutIds: string[] }> => notYet(),
    restock: async (_orderId: string, _lines: StockLine[]): Promise<{ restocked: boolean }> => notYet(),
  };
}
