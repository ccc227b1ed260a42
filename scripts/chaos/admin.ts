import { setTimeout as sleep } from 'node:timers/promises';
import { answerRecord, type Journal } from './journal.js';
import type { Platform } from './platform.js';
import type { OrderBook } from './shopper.js';

export interface AdminDeps {
  platform: Platform;
  journal: Journal;
  random: () => number;
  orders: OrderBook;
  /** Products the warehouse restocks when they run low. */
  restockable: number[];
  /** A product withdrawn from sale half way through (its carts then fail `product_unavailable`). */
  discontinued: number;
  discontinueAt: number;
  stopping: () => boolean;
}

/**
 * The shop's staff during the run: ships and delivers orders (racing shoppers who cancel them),
 * restocks the scarce products when they run low and withdraws one product from sale. Ship and deliver answers go
 * to the journal; restocks are checked from the stock ledger.
 */
export async function runAdmin(deps: AdminDeps): Promise<void> {
  const { platform, journal, random, orders } = deps;
  const token = await platform.token(1, true);
  let discontinued = false;
  let lastRestock = Date.now();

  const call = async (method: string, path: string, json?: unknown) => {
    try {
      return await platform.api.call(method, path, { token, json });
    } catch {
      return undefined;
    }
  };
  const take = (list: string[]) => list.splice(Math.floor(random() * list.length), 1)[0];

  while (!deps.stopping()) {
    await sleep(700 + random() * 1_300);
    if (orders.confirmed.length > 0 && random() < 0.5) {
      const orderId = take(orders.confirmed) as string;
      const answer = await call('POST', `/api/v1/orders/${orderId}/ship`, {
        tracking_number: `1Z${orderId.slice(0, 8)}`,
      });
      if (answer) {
        journal.entries.push({ kind: 'order-ship', orderId, ...answerRecord(answer) });
        if (answer.status === 200) orders.shipped.push(orderId);
      }
    }
    if (orders.shipped.length > 0 && random() < 0.3) {
      const orderId = take(orders.shipped) as string;
      const answer = await call('POST', `/api/v1/orders/${orderId}/deliver`);
      if (answer) {
        journal.entries.push({ kind: 'order-deliver', orderId, ...answerRecord(answer) });
      }
    }
    if (Date.now() - lastRestock > 3_000) {
      lastRestock = Date.now();
      const productId = deps.restockable[Math.floor(random() * deps.restockable.length)] as number;
      const stock = await call('GET', `/api/v1/inventory/${productId}`);
      if (stock?.status === 200 && stock.body.available < 15) {
        await call('PUT', `/api/v1/inventory/${productId}`, {
          on_hand: stock.body.on_hand + 20 + Math.floor(random() * 20),
        });
      }
    }
    if (!discontinued && Date.now() >= deps.discontinueAt) {
      const answer = await call('DELETE', `/api/v1/products/${deps.discontinued}`);
      discontinued = answer?.status === 204;
    }
  }
}
