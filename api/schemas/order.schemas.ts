import { z } from '@hono/zod-openapi';
import { ORDER_STATUSES, type OrderJson } from '../../lib/order.js';
import type { OrderCursor } from '../../services/orders/orders.service.js';
import { pathUuid, queryInt, Timestamp } from './common.js';

export const OrderSchema = z
  .object({
    id: z.string().openapi({ format: 'uuid' }),
    checkout_id: z.string().openapi({ format: 'uuid' }),
    status: z.enum(ORDER_STATUSES),
    items: z.array(
      z
        .object({
          product_id: z.number().int().openapi({ example: 1 }),
          product_name: z
            .string()
            .openapi({ example: 'Laptop', description: 'The name when it was bought.' }),
          quantity: z.number().int().openapi({ example: 1 }),
          price_cents: z.number().int().openapi({ example: 129999, description: 'The unit price paid.' }),
          price: z
            .number()
            .openapi({ example: 1299.99, description: 'Decimal form of `price_cents`, for compatibility.' }),
          subtotal_cents: z.number().int().openapi({ example: 129999 }),
        })
        .openapi('OrderItem'),
    ),
    total_cents: z.number().int().openapi({ example: 129999 }),
    total_amount: z
      .number()
      .openapi({ example: 1299.99, description: 'Decimal form of `total_cents`, for compatibility.' }),
    currency: z.string().openapi({ example: 'USD' }),
    payment: z
      .object({
        payment_id: z.string().openapi({ format: 'uuid' }),
        status: z.string().openapi({
          example: 'CAPTURED',
          description: 'CAPTURED, then REFUNDED once a cancelled order is refunded.',
        }),
        amount_cents: z.number().int(),
        refunded_cents: z.number().int(),
      })
      .nullable(),
    shipping_address: z
      .object({
        name: z.string(),
        line1: z.string(),
        line2: z.string().nullable(),
        city: z.string(),
        postal_code: z.string(),
        country: z.string(),
      })
      .nullable(),
    tracking_number: z.string().nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi('Order');

export const OrderListSchema = z.array(OrderSchema).openapi('OrderList', {
  description: 'Newest first. The next page, if any, is in the `Link` header (`rel="next"`).',
});

export const OrderIdParams = z.object({ order_id: pathUuid('order_id') });

export const ListOrdersQuery = z.object({
  limit: queryInt('limit', 1, 100).optional().openapi({ description: '1..100, default 20' }),
  cursor: z
    .string()
    .max(200)
    .optional()
    .openapi({
      param: { name: 'cursor', in: 'query' },
      description: 'Opaque; taken from the `Link` header.',
    }),
});

export const CancelOrderBody = z
  .strictObject({ reason: z.string().trim().max(500, 'reason must be at most 500 characters').optional() })
  .openapi('CancelOrder');

export const ShipOrderBody = z
  .strictObject({
    tracking_number: z
      .string()
      .trim()
      .regex(
        /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/,
        'tracking_number must be 1..64 letters, digits, spaces, dots, dashes or underscores',
      )
      .optional()
      .openapi({ example: '1Z999AA10123456784' }),
  })
  .openapi('ShipOrder');

/** The order model already builds the contract's shape; this only fails to compile if the two drift apart. */
export const orderResponse = (json: OrderJson): z.input<typeof OrderSchema> => json;

/** Cursors are opaque to clients: base64url of `<created_at>|<id>` of the last order of a page. */
export function encodeOrderCursor(cursor: OrderCursor): string {
  return Buffer.from(`${cursor.createdAt}|${cursor.id}`).toString('base64url');
}

export function decodeOrderCursor(text: string): OrderCursor | undefined {
  const decoded = Buffer.from(text, 'base64url').toString('utf8');
  const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)\|([0-9a-f-]{36})$/.exec(decoded);
  if (!match?.[1] || !match[2] || Number.isNaN(Date.parse(match[1]))) return undefined;
  const cursor = { createdAt: match[1], id: match[2] };
  return encodeOrderCursor(cursor) === text ? cursor : undefined;
}
