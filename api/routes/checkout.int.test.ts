import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CheckoutStatusKey,
  FailureCodeKey,
  OrderIdKey,
  TotalCentsKey,
  UserIdKey,
} from '../../lib/search-attributes.js';
import { jsonRequest, TEST_WEBHOOK_SECRET } from '../../test/support/app.js';
import {
  type CheckoutStack,
  checkoutBody,
  ledgerOf,
  type Shopper,
  startCheckoutStack,
} from '../../test/support/checkout.js';
import { createTestDatabase, type TestDatabase } from '../../test/support/db.js';
import { expectProblem } from '../../test/support/problem.js';
import { connectTestRedis, userIdSource, waitFor } from '../../test/support/redis.js';
import {
  createTemporalTestContext,
  type TemporalTestContext,
  temporalCli,
} from '../../test/support/temporal.js';
import { getStatusQuery } from '../../workflows/checkout.contract.js';
import { signWebhook } from '../middleware/webhook-signature.js';

let db: TestDatabase;
let redis: Redis | undefined;
let temporal: TemporalTestContext;
let stack: CheckoutStack;
const nextUser = userIdSource();
let productCount = 0;
let keyCount = 0;

beforeAll(async () => {
  [db, temporal] = await Promise.all([createTestDatabase(), createTemporalTestContext()]);
  redis = connectTestRedis();
  stack = await startCheckoutStack({ db, redis, temporal });
});
afterAll(async () => {
  await stack?.stop();
  redis?.disconnect();
  await Promise.allSettled([db?.destroy(), temporal?.close()]);
});

async function newProduct(stock: number, priceCents = 1000): Promise<number> {
  productCount += 1;
  const { product } = await stack.services.catalog.create({
    name: `Checkout item ${productCount}`,
    priceCents,
    stock,
  });
  return product.id;
}

const newKey = () => `key-${process.pid}-${++keyCount}`;
const stockOf = (productId: number) => stack.services.inventory.getStock(productId);

async function shopperWith(lines: Array<[productId: number, quantity: number]>): Promise<Shopper> {
  const shopper = await stack.shopper(nextUser());
  for (const [productId, quantity] of lines)
    expect((await shopper.add(productId, quantity)).status).toBe(201);
  return shopper;
}

const cartQuantities = async (shopper: Shopper) =>
  Object.fromEntries((await shopper.cart()).cart.map((line) => [line.product_id, line.quantity]));

function webhook(body: unknown, signature?: string) {
  const text = JSON.stringify(body);
  return stack.app.request('/api/v1/payments/webhook', {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      'X-Signature': signature ?? signWebhook(TEST_WEBHOOK_SECRET, text),
    },
    body: text,
  });
}

/** A 3-D Secure checkout, answered 202 while it waits for the customer. */
async function pendingCheckout(shopper: Shopper, key = newKey()) {
  const response = await shopper.checkout({ payment_token: 'tok_threeDSecure' }, { 'Idempotency-Key': key });
  const body = await checkoutBody(response);
  expect(response.status, JSON.stringify(body)).toBe(202);
  expect(body.status).toBe('PAYMENT_PENDING');
  expect(response.headers.get('location')).toBe(`/api/v1/checkout/${body.checkout_id}`);
  return { key, id: body.checkout_id };
}

async function expectSearchAttributes(checkoutId: string, expected: Record<string, unknown>) {
  const attributes = (await stack.workflow(checkoutId).describe()).typedSearchAttributes;
  const actual = {
    CheckoutStatus: attributes.get(CheckoutStatusKey),
    UserId: attributes.get(UserIdKey),
    TotalCents: attributes.get(TotalCentsKey),
    OrderId: attributes.get(OrderIdKey),
    FailureCode: attributes.get(FailureCodeKey),
  };
  expect(actual).toMatchObject(expected);
}

describe('a checkout that succeeds', () => {
  it('answers 201 with the order, commits the stock, charges once and empties exactly the purchased lines', async () => {
    const [a, b] = [await newProduct(10, 129999), await newProduct(10, 2999)];
    const shopper = await shopperWith([
      [a, 1],
      [b, 3],
    ]);
    const response = await shopper.checkout(
      {
        payment_token: 'tok_visa',
        shipping_address: {
          name: 'Ada Lovelace',
          line1: '12 Analytical Row',
          city: 'London',
          postal_code: 'NW1 6XE',
          country: 'GB',
        },
      },
      { 'Idempotency-Key': newKey() },
    );
    const body = await checkoutBody(response);
    expect(response.status, JSON.stringify(body)).toBe(201);
    expect(body).toMatchObject({
      status: 'COMPLETED',
      total_cents: 129999 + 3 * 2999,
      total_amount: 1389.96,
      currency: 'USD',
      failure: null,
      shipping_address: { name: 'Ada Lovelace', line2: null, postal_code: 'NW1 6XE', country: 'GB' },
      items: [
        { product_id: a, quantity: 1, price_cents: 129999, price: 1299.99, subtotal_cents: 129999 },
        { product_id: b, quantity: 3, price_cents: 2999, subtotal_cents: 8997, subtotal: 89.97 },
      ],
    });
    expect(body.order_id).toMatch(/^[0-9a-f-]{36}$/);

    const ledger = await ledgerOf(db, body.checkout_id);
    expect(ledger).toMatchObject({
      checkout: { status: 'COMPLETED', failure_code: null, order_id: body.order_id },
      payment: { status: 'CAPTURED', amount_cents: 138996, captured_cents: 138996, refunded_cents: 0 },
      operations: {
        AUTHORIZE: { outcome: 'SUCCEEDED', attempts: 1 },
        CAPTURE: { outcome: 'SUCCEEDED', attempts: 1 },
      },
      providerCalls: { authorize: 1, capture: 1 },
      reservations: ['COMMITTED', 'COMMITTED'],
      orders: [{ id: body.order_id, status: 'CONFIRMED' }],
    });
    expect(Object.keys(ledger.operations).sort()).toEqual(['AUTHORIZE', 'CAPTURE']);
    expect(await stockOf(a)).toMatchObject({ onHand: 9, reserved: 0 });
    expect(await stockOf(b)).toMatchObject({ onHand: 7, reserved: 0 });
    // Sold stock stays sold once the reservation's lifetime has passed.
    await stack.services.inventory.releaseExpired({ now: new Date(Date.now() + 3_600_000) });
    expect(await stockOf(a)).toMatchObject({ onHand: 9, reserved: 0 });
    expect((await shopper.cart()).cart).toEqual([]);

    const stored = await checkoutBody(await shopper.get(body.checkout_id));
    expect(stored).toEqual(body);
    expect(await stack.workflow(body.checkout_id).query(getStatusQuery)).toEqual(body);
    await expectSearchAttributes(body.checkout_id, {
      CheckoutStatus: 'COMPLETED',
      UserId: shopper.userId,
      TotalCents: 138996,
      OrderId: body.order_id,
    });
  });

  it('removes only the lines it bought: lines added or changed while it ran stay in the cart', async () => {
    const [a, b, c] = [await newProduct(10), await newProduct(10), await newProduct(10)];
    const shopper = await shopperWith([
      [a, 2],
      [b, 1],
    ]);
    const { id } = await pendingCheckout(shopper);
    // While the customer confirms 3-D Secure in another tab, the cart changes.
    expect((await shopper.add(c, 4)).status).toBe(201);
    expect((await shopper.add(b, 5)).status).toBe(201);
    expect((await webhook({ checkout_id: id, event: 'payment.succeeded' })).status).toBe(200);
    await waitFor(
      'the checkout to complete',
      async () => (await checkoutBody(await shopper.get(id))).status === 'COMPLETED',
    );

    expect(await cartQuantities(shopper)).toEqual({ [b]: 5, [c]: 4 });
    const bought = await checkoutBody(await shopper.get(id));
    expect(bought.items.map((item) => [item.product_id, item.quantity])).toEqual([
      [a, 2],
      [b, 1],
    ]);
    expect(await stockOf(b)).toMatchObject({ onHand: 9, reserved: 0 });
  });
});

describe('a checkout that fails', () => {
  it.each([
    ['tok_chargeDeclined', 'CARD_DECLINED'],
    ['tok_insufficientFunds', 'NO_FUNDS'],
    ['tok_expiredCard', 'CARD_EXPIRED'],
    ['tok_incorrectCvc', 'INVALID_CCV'],
  ])(
    '%s: 402 payment_declined (%s), nothing reserved, nothing charged, cart intact',
    async (token, reason) => {
      const product = await newProduct(5);
      const shopper = await shopperWith([[product, 2]]);
      const response = await shopper.checkout({ payment_token: token }, { 'Idempotency-Key': newKey() });
      const problem = await expectProblem(response, 402, 'payment_declined');
      expect(problem).toMatchObject({ status: 402, checkout_status: 'FAILED', reason });
      const id = problem.checkout_id as string;
      expect(response.headers.get('location')).toBe(`/api/v1/checkout/${id}`);

      expect(await ledgerOf(db, id)).toMatchObject({
        checkout: { status: 'FAILED', failure_code: 'payment_declined' },
        payment: { status: 'DECLINED', captured_cents: 0 },
        reservations: ['RELEASED'],
        orders: [],
      });
      expect(await stockOf(product)).toMatchObject({ onHand: 5, reserved: 0 });
      expect(await cartQuantities(shopper)).toEqual({ [product]: 2 });
      expect(await checkoutBody(await shopper.get(id))).toMatchObject({
        status: 'FAILED',
        failure: { code: 'payment_declined', reason },
      });
      await expectSearchAttributes(id, { CheckoutStatus: 'FAILED', FailureCode: 'payment_declined' });
    },
  );

  it('insufficient stock: 409 naming the product, no payment attempted, cart intact', async () => {
    const scarce = await newProduct(1);
    const plenty = await newProduct(10);
    const shopper = await shopperWith([
      [plenty, 1],
      [scarce, 2],
    ]);
    const problem = await expectProblem(
      await shopper.checkout({}, { 'Idempotency-Key': newKey() }),
      409,
      'insufficient_stock',
    );
    expect(problem.status).toBe(409);
    const ledger = await ledgerOf(db, problem.checkout_id as string);
    expect(ledger).toMatchObject({
      checkout: { status: 'FAILED', failure_code: 'insufficient_stock' },
      payment: undefined,
      reservations: [],
      orders: [],
    });
    expect(await stockOf(plenty)).toMatchObject({ onHand: 10, reserved: 0 });
    expect(await cartQuantities(shopper)).toEqual({ [plenty]: 1, [scarce]: 2 });
  });

  it('a product deleted since it was added: 409 product_unavailable, nothing reserved', async () => {
    const doomed = await newProduct(10);
    const shopper = await shopperWith([[doomed, 1]]);
    await stack.services.catalog.softDelete(doomed);
    const problem = await expectProblem(
      await shopper.checkout({}, { 'Idempotency-Key': newKey() }),
      409,
      'product_unavailable',
    );
    expect((await ledgerOf(db, problem.checkout_id as string)).reservations).toEqual([]);
    expect(await stockOf(doomed)).toMatchObject({ onHand: 10, reserved: 0 });
    await expectSearchAttributes(problem.checkout_id as string, {
      CheckoutStatus: 'FAILED',
      FailureCode: 'product_unavailable',
    });
  });

  it('mixed currencies: 422 currency_mismatch, never totalled as one currency', async () => {
    const dollars = await newProduct(10);
    const { product: euros } = await stack.services.catalog.create({
      name: 'Euro item',
      priceCents: 500,
      currency: 'EUR',
      stock: 10,
    });
    const shopper = await shopperWith([
      [dollars, 1],
      [euros.id, 1],
    ]);
    const problem = await expectProblem(
      await shopper.checkout({}, { 'Idempotency-Key': newKey() }),
      422,
      'currency_mismatch',
    );
    expect((await ledgerOf(db, problem.checkout_id as string)).payment).toBeUndefined();
    // The refused checkout records what it would have bought in the cart's currency, never a sum of both.
    expect(await checkoutBody(await shopper.get(problem.checkout_id as string))).toMatchObject({
      status: 'FAILED',
      currency: 'USD',
      items: [expect.objectContaining({ product_id: dollars, subtotal_cents: 1000 })],
      total_cents: 1000,
      total_amount: 10,
      failure: { code: 'currency_mismatch', reason: null, message: expect.stringContaining('USD, EUR') },
    });
  });
});

describe('3-D Secure', () => {
  it('completes by the signed webhook; a bad signature gets 401 and changes nothing', async () => {
    const product = await newProduct(10);
    const shopper = await shopperWith([[product, 1]]);
    const { id, key } = await pendingCheckout(shopper);
    expect(await checkoutBody(await shopper.get(id))).toMatchObject({ status: 'PAYMENT_PENDING' });
    await expectSearchAttributes(id, { CheckoutStatus: 'PAYMENT_PENDING' });
    const description = await stack.workflow(id).describe();
    expect(await description.staticSummary()).toBe(
      `Checkout of 1 item, 10.00 USD for user ${shopper.userId}`,
    );

    const body = { checkout_id: id, event: 'payment.succeeded' };
    await expectProblem(await webhook(body, `sha256=${'0'.repeat(64)}`), 401, 'unauthenticated');
    await expectProblem(await webhook(body, 'not-a-signature'), 401, 'unauthenticated');
    // A signature of another body does not carry over.
    await expectProblem(await webhook(body, signWebhook(TEST_WEBHOOK_SECRET, '{}')), 401, 'unauthenticated');
    expect(await checkoutBody(await shopper.get(id))).toMatchObject({ status: 'PAYMENT_PENDING' });
    expect((await ledgerOf(db, id)).payment?.status).toBe('REQUIRES_CONFIRMATION');

    const first = await webhook(body);
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ received: true, checkout_id: id });
    await waitFor(
      'the checkout to complete',
      async () => (await checkoutBody(await shopper.get(id))).status === 'COMPLETED',
    );
    // Repeating the same request now answers the outcome.
    const replay = await shopper.checkout({ payment_token: 'tok_threeDSecure' }, { 'Idempotency-Key': key });
    expect(replay.status).toBe(201);
    expect(await checkoutBody(replay)).toMatchObject({ checkout_id: id, status: 'COMPLETED' });
    expect((await webhook(body)).status).toBe(200);
    expect(await ledgerOf(db, id)).toMatchObject({
      payment: { status: 'CAPTURED' },
      providerCalls: { authorize: 1, capture: 1 },
      orders: [{ status: 'CONFIRMED' }],
    });
  });

  it('completes by `temporal workflow signal` from the command line', async () => {
    const product = await newProduct(10);
    const shopper = await shopperWith([[product, 1]]);
    const { id } = await pendingCheckout(shopper);
    // What an operator sees first: the summary and what the saga is waiting for.
    const metadata = await temporalCli(['workflow', 'metadata', '--workflow-id', `checkout-${id}`]);
    const described = await temporalCli(['workflow', 'describe', '--workflow-id', `checkout-${id}`]);
    expect(described.stdout).toContain(`Checkout of 1 item, 10.00 USD for user ${shopper.userId}`);
    expect(metadata.stdout).toContain('paymentConfirmed');
    expect(metadata.stdout).toMatch(/Awaiting 3-D Secure confirmation until \d\d:\d\d UTC/);
    const listed = await temporalCli([
      'workflow',
      'list',
      '--query',
      `CheckoutStatus='PAYMENT_PENDING' AND UserId=${shopper.userId}`,
      '--output',
      'json',
    ]);
    expect(listed.stdout).toContain(`checkout-${id}`);
    await temporalCli([
      'workflow',
      'signal',
      '--workflow-id',
      `checkout-${id}`,
      '--name',
      'paymentConfirmed',
      '--input',
      '{}',
    ]);
    await waitFor(
      'the checkout to complete',
      async () => (await checkoutBody(await shopper.get(id))).status === 'COMPLETED',
    );
    const { stdout } = await temporalCli([
      'workflow',
      'query',
      '--workflow-id',
      `checkout-${id}`,
      '--name',
      'getStatus',
      '--output',
      'json',
    ]);
    expect(stdout).toContain('"COMPLETED"');
  });

  it('a refusal by webhook fails the checkout with the reason and releases the stock', async () => {
    const product = await newProduct(10);
    const shopper = await shopperWith([[product, 3]]);
    const { id, key } = await pendingCheckout(shopper);
    expect((await webhook({ checkout_id: id, event: 'payment.failed', reason: 'NO_FUNDS' })).status).toBe(
      200,
    );
    await waitFor(
      'the checkout to fail',
      async () => (await checkoutBody(await shopper.get(id))).status === 'FAILED',
    );
    const replay = await shopper.checkout({ payment_token: 'tok_threeDSecure' }, { 'Idempotency-Key': key });
    expect(await expectProblem(replay, 402, 'payment_declined')).toMatchObject({
      reason: 'NO_FUNDS',
      checkout_id: id,
    });
    expect(await ledgerOf(db, id)).toMatchObject({
      payment: { status: 'DECLINED' },
      reservations: ['RELEASED'],
    });
    expect(await stockOf(product)).toMatchObject({ onHand: 10, reserved: 0 });
  });

  it('answers 404 for a webhook about an unknown checkout and 400 for a malformed one', async () => {
    await expectProblem(
      await webhook({ checkout_id: '0190d9a0-0000-7000-8000-000000000000', event: 'payment.succeeded' }),
      404,
      'not_found',
    );
    await expectProblem(
      await webhook({ checkout_id: 'nope', event: 'payment.succeeded' }),
      400,
      'invalid_argument',
    );
    await expectProblem(
      await webhook({ checkout_id: '0190d9a0-0000-7000-8000-000000000000', event: 'refund' }),
      400,
      'invalid_argument',
    );
  });
});

describe('cancel', () => {
  it('cancels a checkout awaiting payment: stock released, authorization voided, then 200 and 409', async () => {
    const product = await newProduct(10);
    const shopper = await shopperWith([[product, 4]]);
    const { id, key } = await pendingCheckout(shopper);
    expect(await stockOf(product)).toMatchObject({ reserved: 4 });

    const response = await shopper.cancel(id, { reason: 'changed my mind' });
    expect(response.status).toBe(202);
    expect(await checkoutBody(response)).toMatchObject({
      checkout_id: id,
      status: 'CANCELLED',
      failure: { code: 'checkout_cancelled' },
    });
    expect(await ledgerOf(db, id)).toMatchObject({
      checkout: { status: 'CANCELLED', failure_code: 'checkout_cancelled' },
      payment: { status: 'VOIDED', captured_cents: 0 },
      reservations: ['RELEASED'],
      orders: [],
    });
    expect(await stockOf(product)).toMatchObject({ onHand: 10, reserved: 0 });
    expect(await cartQuantities(shopper)).toEqual({ [product]: 4 });

    expect((await shopper.cancel(id)).status).toBe(200);
    const replay = await shopper.checkout({ payment_token: 'tok_threeDSecure' }, { 'Idempotency-Key': key });
    expect(await expectProblem(replay, 409, 'checkout_cancelled')).toMatchObject({
      checkout_id: id,
      checkout_status: 'CANCELLED',
    });
    // A confirmation arriving after the cancel changes nothing.
    expect((await webhook({ checkout_id: id, event: 'payment.succeeded' })).status).toBe(200);
    expect((await ledgerOf(db, id)).payment?.status).toBe('VOIDED');
  });

  it("refuses to cancel a completed checkout, and another user's checkout does not exist", async () => {
    const shopper = await shopperWith([[await newProduct(10), 1]]);
    const done = await checkoutBody(await shopper.checkout({}, { 'Idempotency-Key': newKey() }));
    expect(done.status).toBe('COMPLETED');
    await expectProblem(await shopper.cancel(done.checkout_id), 409, 'checkout_not_cancellable');
    const stranger = await stack.shopper(nextUser());
    await expectProblem(await stranger.cancel(done.checkout_id), 404, 'not_found');
    await expectProblem(await stranger.get(done.checkout_id), 404, 'not_found');
    await expectProblem(await shopper.get('not-a-uuid'), 400, 'invalid_argument');
  });

  it('by `cancelCheckout` signal from the command line, as the API would', async () => {
    const product = await newProduct(10);
    const shopper = await shopperWith([[product, 1]]);
    const { id } = await pendingCheckout(shopper);
    await temporalCli([
      'workflow',
      'signal',
      '--workflow-id',
      `checkout-${id}`,
      '--name',
      'cancelCheckout',
      '--input',
      '{"reason":"fraud check"}',
    ]);
    await waitFor(
      'the checkout to be cancelled',
      async () => (await checkoutBody(await shopper.get(id))).status === 'CANCELLED',
    );
    expect(await checkoutBody(await shopper.get(id))).toMatchObject({
      failure: { message: 'cancelled: fraud check' },
    });
    expect(await stockOf(product)).toMatchObject({ onHand: 10, reserved: 0 });
  });
});

describe('idempotency', () => {
  it('returns the same checkout and outcome for the same key and body, and 422 for another body', async () => {
    const shopper = await shopperWith([[await newProduct(10), 1]]);
    const key = newKey();
    const first = await checkoutBody(
      await shopper.checkout({ payment_token: 'tok_visa' }, { 'Idempotency-Key': key }),
    );
    // The original gateway's body field works the same, and agrees with the header.
    const again = await shopper.checkout({ idempotency_key: key, payment_token: 'tok_visa' });
    expect(again.status).toBe(201);
    expect(await checkoutBody(again)).toEqual(first);
    const reused = await shopper.checkout(
      { payment_token: 'tok_chargeDeclined' },
      { 'Idempotency-Key': key },
    );
    expect(await expectProblem(reused, 422, 'idempotency_key_reused')).toMatchObject({
      checkout_id: first.checkout_id,
    });
    expect((await ledgerOf(db, first.checkout_id)).providerCalls).toEqual({ authorize: 1, capture: 1 });
  });

  it('refuses a key reused with another body while the saga still runs', async () => {
    const shopper = await shopperWith([[await newProduct(10), 1]]);
    const { id, key } = await pendingCheckout(shopper);
    await expectProblem(
      await shopper.checkout({ payment_token: 'tok_visa' }, { 'Idempotency-Key': key }),
      422,
      'idempotency_key_reused',
    );
    const attached = await shopper.checkout(
      { payment_token: 'tok_threeDSecure' },
      { 'Idempotency-Key': key },
    );
    expect(attached.status).toBe(202);
    expect((await checkoutBody(attached)).checkout_id).toBe(id);
    expect((await shopper.cancel(id)).status).toBe(202);
  });

  it('scopes keys per user', async () => {
    const key = newKey();
    const product = await newProduct(10);
    const [one, two] = [await shopperWith([[product, 1]]), await shopperWith([[product, 1]])];
    const a = await checkoutBody(await one.checkout({}, { 'Idempotency-Key': key }));
    const b = await checkoutBody(await two.checkout({}, { 'Idempotency-Key': key }));
    expect([a.status, b.status]).toEqual(['COMPLETED', 'COMPLETED']);
    expect(a.checkout_id).not.toBe(b.checkout_id);
  });

  it('an empty cart is refused before the saga starts and leaves the key unused', async () => {
    const shopper = await stack.shopper(nextUser());
    const key = newKey();
    await expectProblem(await shopper.checkout({}, { 'Idempotency-Key': key }), 422, 'cart_empty');
    expect((await shopper.add(await newProduct(10), 1)).status).toBe(201);
    expect((await shopper.checkout({}, { 'Idempotency-Key': key })).status).toBe(201);
  });

  it('another checkout of the same cart in progress: 409 checkout_in_progress, key unused', async () => {
    const shopper = await shopperWith([[await newProduct(10), 1]]);
    const { id } = await pendingCheckout(shopper);
    const key = newKey();
    const problem = await expectProblem(
      await shopper.checkout({}, { 'Idempotency-Key': key }),
      409,
      'checkout_in_progress',
    );
    expect(problem.checkout_id).toBe(id);
    expect((await shopper.cancel(id)).status).toBe(202);
    expect((await shopper.checkout({}, { 'Idempotency-Key': key })).status).toBe(201);
  });
});

describe('request validation', () => {
  it("requires a key and a token, and refuses malformed input with the contract's codes", async () => {
    const anonymous = await stack.app.request(
      '/api/v1/checkout',
      jsonRequest('POST', { idempotency_key: 'k' }),
    );
    await expectProblem(anonymous, 401, 'unauthenticated');
    const shopper = await shopperWith([[await newProduct(10), 1]]);
    await expectProblem(await shopper.checkout({}), 400, 'missing_idempotency_key');
    await expectProblem(
      await shopper.checkout({ idempotency_key: 'a' }, { 'Idempotency-Key': 'b' }),
      400,
      'invalid_argument',
    );
    await expectProblem(
      await shopper.checkout({}, { 'Idempotency-Key': 'spaces are not allowed' }),
      400,
      'invalid_argument',
    );
    await expectProblem(
      await shopper.checkout({ idempotency_key: 'x'.repeat(256) }),
      400,
      'invalid_argument',
    );
    await expectProblem(
      await shopper.checkout({ idempotency_key: 'k', payment_tokn: 'tok_visa' }),
      400,
      'invalid_argument',
    );
    await expectProblem(
      await shopper.checkout({ idempotency_key: 'k', payment_token: 'visa' }),
      400,
      'invalid_argument',
    );
    await expectProblem(
      await shopper.checkout({ idempotency_key: 'k', payment_token: 42 }),
      400,
      'invalid_request',
    );
    await expectProblem(
      await shopper.checkout({
        idempotency_key: 'k',
        shipping_address: { name: 'A', line1: 'B', city: 'C', postal_code: 'D', country: 'gb' },
      }),
      400,
      'invalid_argument',
    );
    await expectProblem(
      await shopper.checkout({
        idempotency_key: 'k',
        shipping_address: { name: 'A', city: 'C', postal_code: 'D', country: 'GB' },
      }),
      400,
      'invalid_argument',
    );
    await expectProblem(
      await stack.app.request('/api/v1/checkout', {
        method: 'POST',
        headers: { ...shopper.headers, 'Content-Type': 'application/json' },
        body: '{',
      }),
      400,
      'invalid_request',
    );
    // Nothing above started a checkout.
    const [row] = await db.sql<
      { n: number }[]
    >`select count(*)::int as n from checkouts where user_id = ${shopper.userId}`;
    expect(row?.n).toBe(0);
  });

  it("accepts an empty body with the key in the header, as the original gateway's clients send", async () => {
    const shopper = await shopperWith([[await newProduct(10), 1]]);
    const response = await stack.app.request('/api/v1/checkout', {
      method: 'POST',
      headers: { ...shopper.headers, 'Idempotency-Key': newKey() },
    });
    expect(response.status).toBe(201);
  });

  it('Prefer: respond-async answers 202 as soon as the checkout is recorded', async () => {
    const shopper = await shopperWith([[await newProduct(10), 1]]);
    const response = await shopper.checkout({}, { 'Idempotency-Key': newKey(), Prefer: 'respond-async' });
    expect(response.status).toBe(202);
    expect(response.headers.get('preference-applied')).toBe('respond-async');
    const { checkout_id: id } = await checkoutBody(response);
    expect((await shopper.get(id)).status).toBe(200);
    await waitFor(
      'the checkout to complete',
      async () => (await checkoutBody(await shopper.get(id))).status === 'COMPLETED',
    );
  });

  it('refuses what its document refuses, and documents the key rules it enforces', async () => {
    const shopper = await shopperWith([[await newProduct(10), 1]]);
    const address = { name: 'Ada', line1: '1 Row', city: 'London', postal_code: 'NW1 6XE', country: 'GB' };
    for (const shipping_address of [
      { ...address, postal_code: ' NW1 6XE' },
      { ...address, city: 'Lon\u0000don' },
      { ...address, name: '\u2003' },
    ]) {
      await expectProblem(
        await shopper.checkout({ idempotency_key: newKey(), shipping_address }),
        400,
        'invalid_argument',
      );
    }
    const doc = (await (await stack.app.request('/openapi.json')).json()) as {
      paths: Record<
        string,
        Record<string, { parameters?: Array<{ name: string; in: string; schema: object }> }>
      >;
    };
    const header = (path: string, name: string) =>
      doc.paths[path]?.post?.parameters?.find((p) => p.in === 'header' && p.name === name)?.schema;
    expect(header('/api/v1/checkout', 'Idempotency-Key')).toMatchObject({
      pattern: '^[A-Za-z0-9._:-]{1,255}$',
    });
    expect(header('/api/v1/payments/webhook', 'X-Signature')).toMatchObject({
      pattern: '^[Ss][Hh][Aa]256=[0-9A-Fa-f]{64}$',
    });
  });

  it('documents every checkout route in the OpenAPI document', async () => {
    const doc = (await (await stack.app.request('/openapi.json')).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    expect(Object.keys(doc.paths['/api/v1/checkout'] ?? {})).toEqual(['post']);
    expect(Object.keys(doc.paths['/api/v1/checkout/{checkout_id}'] ?? {})).toEqual(['get']);
    expect(Object.keys(doc.paths['/api/v1/checkout/{checkout_id}/cancel'] ?? {})).toEqual(['post']);
    expect(Object.keys(doc.paths['/api/v1/payments/webhook'] ?? {})).toEqual(['post']);
    const post = doc.paths['/api/v1/checkout']?.post as { responses: Record<string, unknown> } | undefined;
    const responses = post?.responses ?? {};
    expect(Object.keys(responses).sort()).toEqual([
      '201',
      '202',
      '400',
      '401',
      '402',
      '409',
      '413',
      '422',
      '429',
      '500',
      '503',
    ]);
  });
});
