import { z } from '@hono/zod-openapi';
import { ORDER_STATUSES, type OrderJson } from '../../lib/order.js';
import type { OrderCursor } from '../../services/orders/orders.service.js';
import { pathUuid, queryInt, ShippingAddressOut, Timestamp, trimmedText } from './common.js';

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
    shipping_address: ShippingAddressOut,
    tracking_number: z.string().nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi('Order');

export const OrderListSchema = z.array(OrderSchema).openapi('OrderList', {
  description: 'Newest first. The next page, if any, is in the `Link` header (`rel="next"`).',
});

export const OrderIdParams = z.object({ order_id: pathUuid('order_id') });

/**
 * Cursors are opaque to clients: the creation time (epoch milliseconds) and id of the last order
 * of a page. Any cursor of that form is a valid position, so the document's pattern is exactly
 * what the server accepts.
 */
const ORDER_CURSOR = /^(0|[1-9][0-9]{0,14})_([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

export function encodeOrderCursor(cursor: OrderCursor): string {
  return `${Date.parse(cursor.createdAt)}_${cursor.id}`;
}

/** 9999-12-31T23:59:59.999Z: later times are past every order alike, and Postgres reads no later ISO year. */
const LATEST_CURSOR_MS = 253_402_300_799_999;

function decodeOrderCursor(text: string): OrderCursor {
  const [, ms, id] = ORDER_CURSOR.exec(text) ?? [];
  return { createdAt: new Date(Math.min(Number(ms), LATEST_CURSOR_MS)).toISOString(), id: id ?? '' };
}

export const ListOrdersQuery = z.object({
  limit: queryInt('limit', 1, 100).optional().openapi({ description: '1..100, default 20' }),
  cursor: z
    .string()
    .regex(ORDER_CURSOR, 'cursor is not valid')
    .transform(decodeOrderCursor)
    .optional()
    .openapi({
      param: { name: 'cursor', in: 'query' },
      type: 'string',
      pattern: ORDER_CURSOR.source,
      description: 'Opaque; taken from the `Link` header.',
    }),
});

export const CancelOrderBody = z
  .strictObject({ reason: trimmedText('reason', 500).optional() })
  .openapi('CancelOrder');

export const ShipOrderBody = z
  .strictObject({
    tracking_number: z
      .string()
      .regex(
        /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/,
        'tracking_number must be 1..64 letters, digits, spaces, dots, dashes or underscores',
      )
      .trim()
      .optional()
      .openapi({ example: '1Z999AA10123456784' }),
  })
  .openapi('ShipOrder');

/** The order model already builds the contract's shape; this only fails to compile if the two drift apart. */
export const orderResponse = (json: OrderJson): z.input<typeof OrderSchema> => json;
