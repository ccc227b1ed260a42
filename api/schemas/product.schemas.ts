import { z } from '@hono/zod-openapi';
import { centsToDecimal } from '../../lib/money.js';
import type { Product } from '../../services/catalog/catalog.service.js';
import { pathId, queryInt, Timestamp } from './common.js';

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

const MAX_PRICE_CENTS = 100_000_000_000;

/** Cursors are opaque to clients: base64url of `p<id>`. */
export function encodeCursor(afterId: number): string {
  return Buffer.from(`p${afterId}`).toString('base64url');
}

export function decodeCursor(cursor: string): number | undefined {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = /^p([1-9][0-9]{0,15})$/.exec(text);
  if (!match || encodeCursor(Number(match[1])) !== cursor) return undefined;
  const id = Number(match[1]);
  return Number.isSafeInteger(id) ? id : undefined;
}

export const ListProductsQuerySchema = z
  .object({
    limit: queryInt('limit', 1, 100).optional(),
    cursor: z
      .string()
      .max(64)
      .transform((cursor, ctx) => {
        const afterId = decodeCursor(cursor);
        if (afterId === undefined) {
          ctx.addIssue({ code: 'custom', message: 'cursor is not one this API returned' });
          return z.NEVER;
        }
        return afterId;
      })
      .optional()
      .openapi({
        param: { name: 'cursor', in: 'query' },
        type: 'string',
        description: '`next_cursor` of the previous page',
      }),
    q: z
      .string()
      .trim()
      .min(1, 'q must not be empty')
      .max(200, 'q must be at most 200 characters')
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

const name = z
  .string()
  .trim()
  .min(1, 'name must not be empty')
  .max(200, 'name must be at most 200 characters');
const description = z.string().max(5000, 'description must be at most 5000 characters');
const priceCents = z
  .number()
  .int('price_cents must be an integer')
  .min(0, 'price_cents must not be negative')
  .max(MAX_PRICE_CENTS, `price_cents must be at most ${MAX_PRICE_CENTS}`);
const currency = z.string().regex(/^[A-Z]{3}$/, 'currency must be an ISO 4217 code such as USD');
const imageUrl = z
  .string()
  .max(2048, 'image_url must be at most 2048 characters')
  .refine((url) => /^https?:\/\//i.test(url) && URL.canParse(url), 'image_url must be an http(s) URL');

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
