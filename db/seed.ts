import { sql } from 'drizzle-orm';
import type { DbOrTx } from './client.js';
import { inventory, products } from './schema.js';

const SEEDED_AT = new Date('2025-12-25T10:57:29Z');

/** The original catalog (go_cart's migration 000002) with the inventory service's stock levels. */
const SEED_PRODUCTS = [
  {
    id: 1,
    name: 'Laptop',
    description: 'High-performance laptop for work and gaming',
    priceCents: 129999,
    stock: 100,
  },
  { id: 2, name: 'Mouse', description: 'Ergonomic wireless mouse', priceCents: 2999, stock: 500 },
  {
    id: 3,
    name: 'Keyboard',
    description: 'Mechanical keyboard with RGB lighting',
    priceCents: 8999,
    stock: 300,
  },
  { id: 4, name: 'Monitor', description: '27-inch 4K monitor', priceCents: 39999, stock: 150 },
  {
    id: 5,
    name: 'Headphones',
    description: 'Noise-cancelling over-ear headphones',
    priceCents: 24999,
    stock: 200,
  },
] as const;

/**
 * Loads the seed catalog and stock. Idempotent: existing rows, including ones an admin
 * has since edited, are left alone; the id sequence is moved past the seeded ids.
 */
export async function seedDatabase(db: DbOrTx): Promise<void> {
  await db.transaction(async (tx) => {
    await tx
      .insert(products)
      .values(
        SEED_PRODUCTS.map((p) => ({
          id: p.id,
          name: p.name,
          description: p.description,
          priceCents: p.priceCents,
          currency: 'USD',
          imageUrl: `https://example.com/${p.name.toLowerCase()}.jpg`,
          createdAt: SEEDED_AT,
          updatedAt: SEEDED_AT,
        })),
      )
      .onConflictDoNothing();
    await tx
      .insert(inventory)
      .values(SEED_PRODUCTS.map((p) => ({ productId: p.id, onHand: p.stock, reserved: 0 })))
      .onConflictDoNothing();
    await tx.execute(
      sql`select setval(pg_get_serial_sequence('products', 'id'), greatest((select max(id) from products), 1))`,
    );
  });
}
