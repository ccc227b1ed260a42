import { z } from '@hono/zod-openapi';
import type { StockLevel } from '../../services/inventory/inventory.service.js';
import { pathId } from './common.js';

export const MAX_ON_HAND = 1_000_000_000;

export const InventoryParams = z.object({ product_id: pathId('product_id') });

export const StockLevelSchema = z
  .object({
    product_id: z.number().int().openapi({ example: 1 }),
    on_hand: z.number().int().openapi({ example: 100, description: 'Units in the warehouse' }),
    reserved: z
      .number()
      .int()
      .openapi({ example: 3, description: 'Units held by checkouts that have not completed yet' }),
    available: z.number().int().openapi({ example: 97, description: 'on_hand - reserved' }),
  })
  .openapi('StockLevel');

export const SetStockBody = z
  .object({
    on_hand: z
      .number()
      .int('on_hand must be an integer')
      .min(0, 'on_hand must not be negative')
      .max(MAX_ON_HAND, `on_hand must be at most ${MAX_ON_HAND}`)
      .openapi({ example: 120 }),
  })
  .openapi('SetStock');

export function stockLevelJson(level: StockLevel): z.infer<typeof StockLevelSchema> {
  return {
    product_id: level.productId,
    on_hand: level.onHand,
    reserved: level.reserved,
    available: level.available,
  };
}
