import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAppError } from '../../lib/errors.js';
import { createTestServices } from '../../test/support/app.js';
import { createTestDatabase, type TestDatabase } from '../../test/support/db.js';
import type { Services } from '../index.js';

let db: TestDatabase;
let services: Services;

beforeAll(async () => {
  db = await createTestDatabase();
  services = createTestServices({ db });
});
afterAll(async () => {
  await db?.destroy();
});

const catalog = () => services.catalog;

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isAppError(error)) throw new Error(`expected an AppError, got ${String(error)}`, { cause: error });
  return error.code;
}

describe('catalog service', () => {
  it('creates the stock row with the product, so stock and availability start together', async () => {
    const { product, created } = await catalog().create({ name: 'Stool', priceCents: 2500, stock: 8 });
    expect(created).toBe(true);
    expect(product).toMatchObject({
      name: 'Stool',
      priceCents: 2500,
      currency: 'USD',
      available: 8,
      deletedAt: null,
    });
    expect(await services.inventory.getStock(product.id)).toEqual({
      productId: product.id,
      onHand: 8,
      reserved: 0,
      available: 8,
    });
  });

  it('rolls back the product when its stock row cannot be written', async () => {
    const before = await catalog().list({ limit: 100, q: 'Broken stock' });
    await expect(catalog().create({ name: 'Broken stock', priceCents: 1, stock: -1 })).rejects.toThrow();
    expect(await catalog().list({ limit: 100, q: 'Broken stock' })).toEqual(before);
  });

  it('keeps deleted products for carts and orders, and hides them everywhere else', async () => {
    const { product } = await catalog().create({ name: 'Retired lamp', priceCents: 900, stock: 1 });
    await catalog().softDelete(product.id);
    await catalog().softDelete(product.id);
    expect(await codeOf(catalog().get(product.id))).toBe('not_found');
    expect(await catalog().exists(product.id)).toBe(false);
    expect(await catalog().exists(1)).toBe(true);
    const many = await catalog().getMany([product.id, 1, product.id, 987654]);
    expect([...many.keys()].sort((a, b) => a - b)).toEqual([1, product.id]);
    expect(many.get(product.id)?.deletedAt).toBeInstanceOf(Date);
    expect(many.get(1)?.deletedAt).toBeNull();
    expect(await catalog().getMany([])).toEqual(new Map());
    expect(await codeOf(catalog().softDelete(987654))).toBe('not_found');
  });

  it('continues a page after a cursor whose product has since been deleted', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 4; i++) {
      ids.push((await catalog().create({ name: `Cursor anchor ${i}`, priceCents: 1 })).product.id);
    }
    const first = await catalog().list({ limit: 2, q: 'Cursor anchor' });
    expect(first.products.map((p) => p.id)).toEqual(ids.slice(0, 2));
    expect(first.nextAfterId).toBe(ids[1]);
    await catalog().softDelete(ids[1] as number);
    const second = await catalog().list({ limit: 2, q: 'Cursor anchor', afterId: first.nextAfterId ?? 0 });
    expect(second.products.map((p) => p.id)).toEqual(ids.slice(2));
    expect(second.nextAfterId).toBeNull();
  });

  it('creates once per creation key, also when the creates race', async () => {
    const results = await Promise.all(
      Array.from({ length: 6 }, () =>
        catalog().create({ name: 'Raced', priceCents: 10, stock: 2, creationKey: 'service-race-1' }),
      ),
    );
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.product.id)).size).toBe(1);
    expect((await catalog().list({ limit: 100, q: 'Raced' })).products).toHaveLength(1);
  });
});
