import { setTimeout as sleep } from 'node:timers/promises';
import { type Answer, type CallOptions, type Json, signWebhookBody } from '../../test/support/black-box.js';
import { answerRecord, type CheckoutAnswer, type Journal } from './journal.js';
import type { Platform } from './platform.js';

/** The session scenarios and how often a shopper picks each (weights). */
export const SCENARIOS = {
  /** Pays with the default test card. */
  visa: 30,
  /** Sends the same checkout twice at once, then once more after the outcome. */
  'visa-repeat': 9,
  /** The provider fails the first attempts: retried, charged once. */
  'processing-error': 8,
  /** A refused card (one of the four declining tokens). */
  declined: 10,
  /** 3-D Secure confirmed by the provider's webhook within a second or two. */
  '3ds-confirm': 9,
  /** 3-D Secure confirmed late: well into the reservation's lifetime. */
  '3ds-late': 6,
  /** 3-D Secure never confirmed: the reservation expires. */
  '3ds-never': 5,
  /** 3-D Secure refused by the webhook. */
  '3ds-refused': 3,
  /** The shopper cancels while 3-D Secure is pending. */
  '3ds-cancel': 6,
  /** Buys, then cancels the order (sometimes twice, sometimes an older, maybe shipped, order). */
  'cancel-order': 8,
  /** Reuses a key with another payment token after the outcome: 422. */
  'key-reuse': 3,
  /** A second tab checks out with another key while 3-D Secure is pending: 409. */
  'double-tab': 3,
} as const;
export type Scenario = keyof typeof SCENARIOS;

const DECLINING_TOKENS = [
  'tok_chargeDeclined',
  'tok_insufficientFunds',
  'tok_expiredCard',
  'tok_incorrectCvc',
];
const DECLINE_REASONS = ['CARD_DECLINED', 'NO_FUNDS', 'CARD_EXPIRED', 'INVALID_CCV'];
const FINAL = ['COMPLETED', 'FAILED', 'CANCELLED'];

/** Orders the shoppers made, for the admin to ship and deliver. */
export interface OrderBook {
  confirmed: string[];
  shipped: string[];
}

export interface ShopperDeps {
  platform: Platform;
  journal: Journal;
  random: () => number;
  /** Product ids with their pick weights. */
  catalog: Array<{ id: number; weight: number }>;
  orders: OrderBook;
  /** True once no new session should start. */
  stopping: () => boolean;
  reservationTtlMs: number;
  log: (line: string) => void;
}

interface Progress {
  sessions: number;
}

/**
 * One simulated shopper (one user) running realistic sessions back to back until told to stop:
 * browse, fill the cart, check out with a scenario's payment token, react as a client would
 * (retry the same key after a network error or a 503, follow a 202, confirm or cancel 3-D Secure,
 * cancel orders), and record every answer in the journal.
 */
export async function runShopper(index: number, deps: ShopperDeps, progress: Progress): Promise<void> {
  const { platform, journal, random } = deps;
  const api = platform.api;
  const userId = 100_000 + index;
  const token = await platform.token(userId);
  const myOrders: string[] = [];
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const chance = (p: number) => random() < p;
  const think = () => sleep(50 + random() * 400);

  /** A call that never throws: status 0 when the API could not be reached. */
  async function call(method: string, path: string, options: CallOptions = {}): Promise<Answer<Json>> {
    try {
      return await api.call(method, path, { token, ...options });
    } catch (error) {
      return { status: 0, headers: new Headers(), body: { error: String(error) }, text: '' };
    }
  }

  /** Repeats a call while the platform is away (network error, 5xx), as a careful client does. */
  async function persist(
    method: string,
    path: string,
    options: CallOptions = {},
    {
      patienceMs = 120_000,
      onAnswer,
    }: { patienceMs?: number; onAnswer?: (answer: Answer<Json>) => void } = {},
  ): Promise<Answer<Json>> {
    const giveUpAt = Date.now() + patienceMs;
    let delay = 200;
    for (;;) {
      const answer = await call(method, path, options);
      onAnswer?.(answer);
      if ((answer.status !== 0 && answer.status < 500) || Date.now() > giveUpAt) return answer;
      await sleep(delay + random() * delay);
      delay = Math.min(delay * 2, 3_000);
    }
  }

  function recordCheckout(key: string, paymentToken: string, repeat: boolean, answer: Answer<Json>): void {
    const body = typeof answer.body === 'object' && answer.body !== null ? answer.body : {};
    const entry: CheckoutAnswer = {
      kind: 'checkout',
      at: Date.now(),
      status: answer.status,
      code: answer.status >= 400 ? body.code : undefined,
      userId,
      key,
      paymentToken,
      repeat,
      checkoutId: body.checkout_id,
      checkoutStatus: answer.status < 300 ? body.status : body.checkout_status,
      orderId: body.order_id,
      reason: body.reason,
    };
    journal.entries.push(entry);
  }

  function submit(key: string, paymentToken: string, repeat = false): Promise<Answer<Json>> {
    const json: Record<string, unknown> = { payment_token: paymentToken };
    return persist(
      'POST',
      '/api/v1/checkout',
      { json, headers: { 'Idempotency-Key': key } },
      { onAnswer: (answer) => recordCheckout(key, paymentToken, repeat, answer) },
    );
  }

  /** Polls the checkout until its status is one of `statuses`; undefined if not within the bound. */
  async function awaitStatus(checkoutId: string, ...statuses: string[]): Promise<Json | undefined> {
    const giveUpAt = Date.now() + deps.reservationTtlMs + 150_000;
    while (Date.now() < giveUpAt) {
      const answer = await call('GET', `/api/v1/checkout/${checkoutId}`);
      if (answer.status === 200 && statuses.includes(answer.body.status)) return answer.body;
      await sleep(300 + random() * 700);
    }
    return undefined;
  }

  const awaitFinal = (checkoutId: string) => awaitStatus(checkoutId, ...FINAL);

  async function webhook(checkoutId: string, event: 'payment.succeeded' | 'payment.failed'): Promise<void> {
    const reason = event === 'payment.failed' ? pick(DECLINE_REASONS) : undefined;
    const body = JSON.stringify({ checkout_id: checkoutId, event, ...(reason ? { reason } : {}) });
    const answer = await persist('POST', '/api/v1/payments/webhook', {
      token: undefined,
      body,
      contentType: 'application/json',
      headers: { 'X-Signature': signWebhookBody(platform.secrets.webhookSecret, body) },
    });
    journal.entries.push({
      kind: 'webhook',
      at: Date.now(),
      status: answer.status,
      code: answer.body?.code,
      checkoutId,
      event,
      reason,
    });
  }

  async function cancelCheckout(checkoutId: string): Promise<void> {
    const answer = await persist('POST', `/api/v1/checkout/${checkoutId}/cancel`, {
      json: { reason: 'changed my mind' },
    });
    journal.entries.push({ kind: 'checkout-cancel', userId, checkoutId, ...answerRecord(answer) });
  }

  async function cancelOrder(orderId: string): Promise<void> {
    const answer = await persist('POST', `/api/v1/orders/${orderId}/cancel`);
    journal.entries.push({ kind: 'order-cancel', orderId, ...answerRecord(answer) });
  }

  async function fillCart(): Promise<void> {
    const cart = await persist('GET', '/api/v1/cart');
    if (cart.status === 200 && cart.body.cart.length > 0 && chance(0.5))
      await persist('DELETE', '/api/v1/cart');
    const lines = 1 + Math.floor(random() * 3);
    const chosen: number[] = [];
    for (let i = 0; i < lines; i++) {
      const product = weighted(deps.catalog, random);
      if (!product) break;
      const answer = await persist('POST', '/api/v1/cart/items', {
        json: { product_id: product.id, quantity: 1 + Math.floor(random() * 3) },
      });
      if (answer.status === 201) chosen.push(product.id);
      await think();
    }
    if (chosen.length > 0 && chance(0.3)) {
      await persist('PUT', `/api/v1/cart/items/${pick(chosen)}`, {
        json: { quantity: 1 + Math.floor(random() * 4) },
      });
    }
    if (chosen.length > 1 && chance(0.15)) await persist('DELETE', `/api/v1/cart/items/${pick(chosen)}`);
    const after = await persist('GET', '/api/v1/cart');
    if (after.status === 200 && after.body.cart.length === 0) {
      await persist('POST', '/api/v1/cart/items', { json: { product_id: 2, quantity: 1 } });
    }
  }

  async function browse(): Promise<void> {
    await call('GET', `/api/v1/products?limit=${5 + Math.floor(random() * 20)}`, { token: undefined });
    if (chance(0.5)) await call('GET', `/api/v1/products/${pick(deps.catalog).id}`, { token: undefined });
    if (chance(0.2)) await call('GET', '/api/v1/products?q=chaos', { token: undefined });
    if (chance(0.2)) await call('GET', '/api/v1/orders?limit=5');
  }

  /** After a 201: the purchased lines are gone from the next cart read (the contract's promise). */
  async function afterCompletion(checkoutId: string, orderId: string, scenario: Scenario): Promise<void> {
    const cart = await persist('GET', '/api/v1/cart');
    if (cart.status === 200) {
      journal.entries.push({
        kind: 'cart-after-completion',
        at: Date.now(),
        userId,
        checkoutId,
        productIds: cart.body.cart.map((line: { product_id: number }) => line.product_id),
      });
    }
    if (scenario === 'cancel-order') {
      // Sometimes an older order instead, which the admin may have shipped meanwhile.
      const target = myOrders.length > 0 && chance(0.3) ? pick(myOrders) : orderId;
      await think();
      await cancelOrder(target);
      if (chance(0.4)) await cancelOrder(target);
    } else {
      deps.orders.confirmed.push(orderId);
    }
    myOrders.push(orderId);
  }

  async function session(n: number): Promise<void> {
    const scenario = pickScenario(random);
    journal.scenarios[scenario] = (journal.scenarios[scenario] ?? 0) + 1;
    await browse();
    await fillCart();
    const key = `chaos-${userId}-${n}`;
    const threeDs = scenario.startsWith('3ds') || scenario === 'double-tab';
    const paymentToken = threeDs
      ? 'tok_threeDSecure'
      : scenario === 'declined'
        ? pick(DECLINING_TOKENS)
        : scenario === 'processing-error'
          ? 'tok_processingError'
          : 'tok_visa';

    const first =
      scenario === 'visa-repeat'
        ? (await Promise.all([submit(key, paymentToken), submit(key, paymentToken, true)]))[0]
        : await submit(key, paymentToken);
    const checkoutId: string | undefined = first.body?.checkout_id;
    if (first.status === 409 && first.body?.code === 'checkout_in_progress') {
      // An earlier checkout of this user has not ended yet (a bound ran out during an outage).
      if (checkoutId) await awaitFinal(checkoutId);
      return;
    }
    if (!checkoutId || first.status === 0 || first.status >= 500) return;

    // Under a fault the answer may come before the saga reached 3-D Secure: wait for it, as the
    // provider's redirect would.
    const pending =
      first.status === 202 && threeDs && first.body.status !== 'PAYMENT_PENDING'
        ? (await awaitStatus(checkoutId, 'PAYMENT_PENDING', ...FINAL))?.status
        : first.body?.status;
    if (first.status === 202 && pending === 'PAYMENT_PENDING') {
      switch (scenario) {
        case '3ds-confirm':
          await sleep(200 + random() * 1_500);
          await webhook(checkoutId, 'payment.succeeded');
          break;
        case '3ds-late':
          await sleep(deps.reservationTtlMs * (0.4 + random() * 0.35));
          await webhook(checkoutId, 'payment.succeeded');
          break;
        case '3ds-refused':
          await sleep(200 + random() * 1_500);
          await webhook(checkoutId, 'payment.failed');
          break;
        case '3ds-cancel':
          await sleep(200 + random() * 3_000);
          await cancelCheckout(checkoutId);
          if (chance(0.3)) await cancelCheckout(checkoutId);
          break;
        case 'double-tab':
          // Refused with 409 checkout_in_progress while the first one waits (the checker holds it to that).
          await submit(`${key}-tab2`, 'tok_visa');
          await webhook(checkoutId, 'payment.succeeded');
          break;
        default:
          break;
      }
    }

    let final: Json | undefined = first.status === 201 || first.status >= 400 ? first.body : undefined;
    if (!final) {
      const ended = await awaitFinal(checkoutId);
      if (!ended) return;
      // A client that was answered 202 asks again with the same key to learn the outcome.
      final = (await submit(key, paymentToken, true)).body;
    }
    if (scenario === 'visa-repeat' || chance(0.1)) await submit(key, paymentToken, true);
    if (scenario === 'key-reuse')
      await submit(key, paymentToken === 'tok_visa' ? 'tok_expiredCard' : 'tok_visa', true);

    const orderId = final?.order_id;
    if ((final?.status === 'COMPLETED' || first.status === 201) && typeof orderId === 'string') {
      await afterCompletion(checkoutId, orderId, scenario);
    }
  }

  for (let n = 1; !deps.stopping(); n++) {
    try {
      await session(n);
    } catch (error) {
      deps.log(`shopper ${userId}: session ${n} broke: ${String(error)}`);
    }
    progress.sessions++;
    await think();
  }
}

/** One of `items`, each as likely as its weight. */
export function weighted<T extends { weight: number }>(
  items: readonly T[],
  random: () => number,
): T | undefined {
  const total = items.reduce((sum, item) => sum + item.weight, 0);
  let draw = random() * total;
  for (const item of items) {
    draw -= item.weight;
    if (draw < 0) return item;
  }
  return items.at(-1);
}

export function pickScenario(random: () => number): Scenario {
  const entries = Object.entries(SCENARIOS) as Array<[Scenario, number]>;
  const total = entries.reduce((sum, [, weight]) => sum + weight, 0);
  let draw = random() * total;
  for (const [scenario, weight] of entries) {
    draw -= weight;
    if (draw < 0) return scenario;
  }
  return 'visa';
}
