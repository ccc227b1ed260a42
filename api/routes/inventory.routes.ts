import type { InventoryService } from '../../services/inventory/inventory.service.js';
import type { Router } from '../route.js';
import {
  InventoryParams,
  SetStockBody,
  StockLevelSchema,
  stockLevelJson,
} from '../schemas/inventory.schemas.js';

export function registerInventoryRoutes(
  router: Router,
  { inventory }: { inventory: InventoryService },
): void {
  router.route(
    {
      method: 'get',
      path: '/api/v1/inventory/{product_id}',
      operationId: 'getStock',
      summary: 'Get the stock of a product (admin)',
      tags: ['Catalog'],
      access: 'admin',
      params: InventoryParams,
      fieldCodes: { product_id: 'invalid_product_id' },
      errors: ['not_found'],
      responses: { 200: { description: 'The stock level', schema: StockLevelSchema } },
    },
    async (c, { params }) => c.json(stockLevelJson(await inventory.getStock(params.product_id))),
  );

  router.route(
    {
      method: 'put',
      path: '/api/v1/inventory/{product_id}',
      operationId: 'setStock',
      summary: 'Set the units on hand of a product (admin)',
      description:
        'Records a stock count. Refused with 409 `conflict` when below the units reserved by checkouts in flight. Idempotent.',
      tags: ['Catalog'],
      access: 'admin',
      params: InventoryParams,
      body: SetStockBody,
      fieldCodes: { product_id: 'invalid_product_id' },
      errors: ['invalid_argument', 'not_found', 'conflict'],
      responses: { 200: { description: 'The new stock level', schema: StockLevelSchema } },
    },
    async (c, { params, body }) =>
      c.json(stockLevelJson(await inventory.setOnHand(params.product_id, body.on_hand))),
  );
}
