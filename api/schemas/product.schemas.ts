import { z } from '@hono/zod-openapi';
import { centsToDecimal, MAX_PRICE_CENTS } from '../../lib/money.js';
import type { Product } from '../../services/catalog/catalog.service.js';
import { nonBlankText, pathId, queryInt, Timestamp, text } from './common.js';

export const ProductSchema = z
  .object({
    id: z.number().int().openapi({ example: 1 }),
    name: z.string().openapi({ example: 'Laptop' }),
    description: z.string().openapi({ example: 'High-performance laptop for work and gaming' }),
    price: z
      .number()
      .openapi({ example: 1299.99, description: 'Decimal form of `price_cents`, for compatibility.' }),
    price_cents: z.number().int().openapi({ example: 129999 }),
    currency: z.string().openapi({ example: 'USD' }),
    image_url: z.string().nullable().openapi({ example: 'https://example.com/laptop.jpg' }),
    available: z.number().int().openapi({ example: 100, description: 'on_hand - reserved' }),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi('Product');

export const ProductPageSchema = z
  .object({
    products: z.array(ProductSchema),
    next_cursor: z
      .string()
      .nullable()
      .openapi({ description: 'Pass as `cursor` for the next page; null on the last page.' }),
  })
  .openapi('ProductPage');

export function productJson(product: Product): z.infer<typeof ProductSchema> {
  return {
    id: product.id,
    name: product.name,
    description: product.description,
    price: centsToDecimal(product.priceCents),
    price_cents: product.priceCents,
    currency: product.currency,
    image_url: product.imageUrl,
    available: product.available,
    created_at: product.createdAt.toISOString(),
    updated_at: product.updatedAt.toISOString(),
  };
}

/**
 * Cursors are opaque to clients: `p` and the last id of a page. Any cursor of that form is a
 * valid position (ids past the largest safe integer simply end the list), so the document's
 * pattern is exactly what the server accepts.
 */
const CURSOR = /^p[1-9][0-9]{0,15}$/;

export function encodeCursor(afterId: number): string {
  return `p${afterId}`;
}

export const ListProductsQuerySchema = z
  .object({
    limit: queryInt('limit', 1, 100).optional(),
    cursor: z
      .string()
      .regex(CURSOR, 'cursor is not one this API returned')
      .transform((cursor) => Math.min(Number(cursor.slice(1)), Number.MAX_SAFE_INTEGER))
      .optional()
      .openapi({
        param: { name: 'cursor', in: 'query' },
        type: 'string',
        pattern: CURSOR.source,
        description: '`next_cursor` of the previous page',
      }),
    q: nonBlankText('q', 200)
      .optional()
      .openapi({
        param: { name: 'q', in: 'query' },
        description: 'Case-insensitive match on name or description',
      }),
    min_price_cents: queryInt('min_price_cents', 0, MAX_PRICE_CENTS).optional(),
    max_price_cents: queryInt('max_price_cents', 0, MAX_PRICE_CENTS).optional(),
  })
  .refine(
    (q) =>
      q.min_price_cents === undefined ||
      q.max_price_cents === undefined ||
      q.min_price_cents <= q.max_price_cents,
    { message: 'min_price_cents must not exceed max_price_cents', path: ['min_price_cents'] },
  );

export const ProductIdParams = z.object({ id: pathId('id') });

const name = nonBlankText('name', 200);
const description = text('description', 5000);
const priceCents = z
  .number()
  .int('price_cents must be an integer')
  .min(0, 'price_cents must not be negative')
  .max(MAX_PRICE_CENTS, `price_cents must be at most ${MAX_PRICE_CENTS}`);
const currency = z.string().regex(/^[A-Z]{3}$/, 'currency must be an ISO 4217 code such as USD');
// An absolute http(s) URL in RFC 3986 characters: a host name, an optional port, then path,
// query and fragment with anything else percent-encoded. Stated as the document's pattern.
const URL_CHAR = "(?:[A-Za-z0-9\\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})";
const IMAGE_URL = new RegExp(
  `^[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?(?:/${URL_CHAR}*)?(?:\\?(?:${URL_CHAR}|\\?)*)?(?:#(?:${URL_CHAR}|\\?)*)?$`,
);
const imageUrl = z
  .string()
  .max(2048, 'image_url must be at most 2048 characters')
  .regex(IMAGE_URL, 'image_url must be an http(s) URL')
  .openapi({ example: 'https://example.com/lamp.jpg' });

export const CreateProductBody = z
  .object({
    name,
    description: description.optional(),
    price_cents: priceCents,
    currency: currency.optional(),
    image_url: imageUrl.nullable().optional(),
    stock: z.number().int().min(0, 'stock must not be negative').max(1_000_000_000).optional(),
  })
  .openapi('CreateProduct');

// A PATCH that silently ignored a field (say `stock`, which lives under /inventory) would look
// like success; unknown fields are refused instead.
export const PatchProductBody = z
  .strictObject(
    {
      name: name.optional(),
      description: description.optional(),
      price_cents: priceCents.optional(),
      currency: currency.optional(),
      image_url: imageUrl.nullable().optional(),
    },
    'unknown field; stock is set with PUT /api/v1/inventory/{product_id}',
  )
  .openapi('PatchProduct');
