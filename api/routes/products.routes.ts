import { z } from '@hono/zod-openapi';
import type { CatalogService } from '../../services/catalog/catalog.service.js';
import { ConditionalReadHeaders, cacheableJson, cacheableResponses } from '../cacheable.js';
import type { Router } from '../route.js';
import { IdempotencyKeyHeader, requestDigest } from '../schemas/common.js';
import {
  CreateProductBody,
  encodeCursor,
  ListProductsQuerySchema,
  PatchProductBody,
  ProductIdParams,
  ProductPageSchema,
  ProductSchema,
  productJson,
} from '../schemas/product.schemas.js';

export function registerProductRoutes(router: Router, { catalog }: { catalog: CatalogService }): void {
  router.route(
    {
      method: 'get',
      path: '/api/v1/products',
      operationId: 'listProducts',
      summary: 'List products',
      description: 'Live products ordered by id, with keyset pagination, text search and price filters.',
      tags: ['Catalog'],
      access: 'public',
      query: ListProductsQuerySchema,
      headers: ConditionalReadHeaders,
      errors: ['invalid_argument'],
      responses: cacheableResponses({ description: 'A page of products', schema: ProductPageSchema }),
    },
    async (c, { query }) => {
      const page = await catalog.list({
        limit: query.limit ?? 20,
        afterId: query.cursor,
        q: query.q,
        minPriceCents: query.min_price_cents,
        maxPriceCents: query.max_price_cents,
      });
      return cacheableJson(c, page, () => ({
        products: page.products.map(productJson),
        next_cursor: page.nextAfterId === null ? null : encodeCursor(page.nextAfterId),
      }));
    },
  );

  router.route(
    {
      method: 'get',
      path: '/api/v1/products/{id}',
      operationId: 'getProduct',
      summary: 'Get a product',
      tags: ['Catalog'],
      access: 'public',
      params: ProductIdParams,
      headers: ConditionalReadHeaders,
      fieldCodes: { id: 'invalid_product_id' },
      errors: ['not_found'],
      responses: cacheableResponses({ description: 'The product', schema: ProductSchema }),
    },
    async (c, { params }) => {
      const product = await catalog.get(params.id);
      return cacheableJson(c, product, () => productJson(product));
    },
  );

  router.route(
    {
      method: 'post',
      path: '/api/v1/products',
      operationId: 'createProduct',
      summary: 'Create a product (admin)',
      description:
        'Creates the product and its stock. With an `Idempotency-Key` (scoped to the calling admin), a retry with the same body returns the first product (200); the same key with another body is 422 `idempotency_key_reused`.',
      tags: ['Catalog'],
      access: 'admin',
      headers: z.object({
        'Idempotency-Key': IdempotencyKeyHeader('1..255 characters of [A-Za-z0-9._:-]; makes retries safe.'),
      }),
      body: CreateProductBody,
      errors: ['invalid_argument', 'idempotency_key_reused'],
      responses: {
        201: {
          description: 'Created',
          schema: ProductSchema,
          headers: { Location: { description: 'URL of the new product', schema: { type: 'string' } } },
        },
        200: { description: 'Already created with this Idempotency-Key', schema: ProductSchema },
      },
    },
    async (c, { body, user, headers }) => {
      const key = headers['Idempotency-Key'];
      const { product, created } = await catalog.create({
        name: body.name,
        description: body.description,
        priceCents: body.price_cents,
        currency: body.currency,
        imageUrl: body.image_url,
        stock: body.stock,
        creationKey: key,
        creatorId: user?.id,
        requestHash: requestDigest(body),
      });
      c.header('Location', `/api/v1/products/${product.id}`);
      return c.json(productJson(product), created ? 201 : 200);
    },
  );

  router.route(
    {
      method: 'patch',
      path: '/api/v1/products/{id}',
      operationId: 'updateProduct',
      summary: 'Update a product (admin)',
      description: 'Partial update. A price change applies to future checkouts only.',
      tags: ['Catalog'],
      access: 'admin',
      params: ProductIdParams,
      body: PatchProductBody,
      fieldCodes: { id: 'invalid_product_id' },
      errors: ['invalid_argument', 'not_found'],
      responses: { 200: { description: 'The updated product', schema: ProductSchema } },
    },
    async (c, { params, body }) => {
      const product = await catalog.update(params.id, {
        name: body.name,
        description: body.description,
        priceCents: body.price_cents,
        currency: body.currency,
        imageUrl: body.image_url,
      });
      return c.json(productJson(product));
    },
  );

  router.route(
    {
      method: 'delete',
      path: '/api/v1/products/{id}',
      operationId: 'deleteProduct',
      summary: 'Delete a product (admin)',
      description:
        'Soft delete: hidden from the catalog and from cart adds, kept for order history. Idempotent.',
      tags: ['Catalog'],
      access: 'admin',
      params: ProductIdParams,
      fieldCodes: { id: 'invalid_product_id' },
      errors: ['not_found'],
      responses: { 204: { description: 'Deleted' } },
    },
    async (c, { params }) => {
      await catalog.softDelete(params.id);
      return c.body(null, 204);
    },
  );
}
