import { describe, expect, it } from 'vitest';
import { findViolations, type InvariantId } from './invariants.js';
import type { Journal, JournalEntry } from './journal.js';
import type { Ledger } from './ledger.js';

const A = '0000000a-0000-4000-8000-000000000000';
const B = '0000000b-0000-4000-8000-000000000000';
const C = '0000000c-0000-4000-8000-000000000000';
const ORDER_A = '000000a0-0000-4000-8000-000000000000';
const ORDER_C = '000000c0-0000-4000-8000-000000000000';
const T0 = Date.parse('2026-01-01T00:00:00Z');

/**
 * A healthy shop after a run: product 10 started with 10 units. A bought 2 (order confirmed),
 * B waited for 3-D Secure until its reservation expired (authorization voided), C bought 3 and
 * cancelled the order (refunded, restocked).
 */
function healthy(): { ledger: Ledger; journal: Pick<Journal, 'entries' | 'stock'> } {
  const checkout = (id: string, key: string, status: string, quantity: number, extra = {}) => ({
    id,
    userId: 7,
    idempotencyKey: key,
    status,
    lines: [{ productId: 10, quantity, cartLineVersion: quantity }],
    totalCents: quantity * 100,
    orderId: null,
    failureCode: null,
    failureReason: null,
    reservationExpiresAt: T0 + 60_000,
    createdAt: T0 + 1_000,
    updatedAt: T0 + 5_000,
    ...extra,
  });
  const bank = (checkoutId: string, operation: string, amountCents: number, outcome = 'succeeded') => ({
    key: `${checkoutId}:${operation}`,
    operation,
    reference: `ref-${checkoutId}`,
    amountCents,
    outcome,
  });
  const ledger: Ledger = {
    checkouts: [
      checkout(A, 'k-a', 'COMPLETED', 2, { orderId: ORDER_A }),
      checkout(B, 'k-b', 'FAILED', 1, { failureCode: 'reservation_expired' }),
      checkout(C, 'k-c', 'COMPLETED', 3, { orderId: ORDER_C }),
    ],
    reservations: [
      { checkoutId: A, productId: 10, quantity: 2, status: 'COMMITTED' },
      { checkoutId: B, productId: 10, quantity: 1, status: 'RELEASED' },
      { checkoutId: C, productId: 10, quantity: 3, status: 'COMMITTED' },
    ],
    payments: [
      {
        id: 'pa',
        checkoutId: A,
        amountCents: 200,
        status: 'CAPTURED',
        capturedCents: 200,
        refundedCents: 0,
        paymentMethod: 'tok_visa',
      },
      {
        id: 'pb',
        checkoutId: B,
        amountCents: 100,
        status: 'VOIDED',
        capturedCents: 0,
        refundedCents: 0,
        paymentMethod: 'tok_threeDSecure',
      },
      {
        id: 'pc',
        checkoutId: C,
        amountCents: 300,
        status: 'REFUNDED',
        capturedCents: 300,
        refundedCents: 300,
        paymentMethod: 'tok_visa',
      },
    ],
    bank: [
      bank(A, 'authorize', 200, 'approved'),
      bank(A, 'capture', 200),
      bank(B, 'authorize', 100, 'requires_confirmation'),
      bank(B, 'void', 100),
      bank(C, 'authorize', 300, 'approved'),
      bank(C, 'capture', 300),
      bank(C, 'refund', 300),
    ],
    orders: [
      { id: ORDER_A, checkoutId: A, userId: 7, status: 'CONFIRMED', totalCents: 200 },
      { id: ORDER_C, checkoutId: C, userId: 7, status: 'CANCELLED', totalCents: 300 },
    ],
    orderItems: [
      { orderId: ORDER_A, productId: 10, quantity: 2 },
      { orderId: ORDER_C, productId: 10, quantity: 3 },
    ],
    movements: [{ productId: 10, reason: 'RESTOCK', delta: 3, reference: C, createdAt: T0 + 9_000 }],
    inventory: [{ productId: 10, onHand: 8, reserved: 0 }],
    cartLines: [{ userId: 7, productId: 10, quantity: 1, version: 99 }],
    workflows: new Map([
      [
        `checkout-${A}`,
        {
          workflowId: `checkout-${A}`,
          type: 'checkoutWorkflow',
          status: 'COMPLETED',
          checkoutStatus: 'COMPLETED',
        },
      ],
      [
        `checkout-${B}`,
        {
          workflowId: `checkout-${B}`,
          type: 'checkoutWorkflow',
          status: 'COMPLETED',
          checkoutStatus: 'FAILED',
        },
      ],
      [
        `checkout-${C}`,
        {
          workflowId: `checkout-${C}`,
          type: 'checkoutWorkflow',
          status: 'COMPLETED',
          checkoutStatus: 'COMPLETED',
        },
      ],
      [
        `order-${ORDER_A}`,
        {
          workflowId: `order-${ORDER_A}`,
          type: 'orderWorkflow',
          status: 'RUNNING',
          orderStatus: 'CONFIRMED',
        },
      ],
      [
        `order-${ORDER_C}`,
        {
          workflowId: `order-${ORDER_C}`,
          type: 'orderWorkflow',
          status: 'COMPLETED',
          orderStatus: 'CANCELLED',
        },
      ],
    ]),
    running: [{ workflowId: `order-${ORDER_A}`, type: 'orderWorkflow', status: 'RUNNING' }],
    unsuccessful: [],
  };
  const answer = (
    entry: Partial<JournalEntry> & { kind: 'checkout'; key: string; status: number },
  ): JournalEntry => ({
    at: T0 + 2_000,
    userId: 7,
    paymentToken: 'tok_visa',
    repeat: false,
    ...entry,
  });
  const entries: JournalEntry[] = [
    answer({
      kind: 'checkout',
      key: 'k-a',
      status: 201,
      checkoutId: A,
      checkoutStatus: 'COMPLETED',
      orderId: ORDER_A,
    }),
    answer({
      kind: 'checkout',
      key: 'k-b',
      status: 202,
      checkoutId: B,
      checkoutStatus: 'PAYMENT_PENDING',
      paymentToken: 'tok_threeDSecure',
    }),
    answer({
      kind: 'checkout',
      key: 'k-b',
      status: 409,
      code: 'reservation_expired',
      checkoutId: B,
      checkoutStatus: 'FAILED',
      paymentToken: 'tok_threeDSecure',
    }),
    answer({
      kind: 'checkout',
      key: 'k-c',
      status: 201,
      checkoutId: C,
      checkoutStatus: 'COMPLETED',
      orderId: ORDER_C,
    }),
    { kind: 'order-cancel', at: T0 + 8_000, status: 200, orderId: ORDER_C, bodyStatus: 'CANCELLED' },
    { kind: 'cart-after-completion', at: T0 + 3_000, userId: 7, checkoutId: A, productIds: [] },
  ];
  return {
    ledger,
    journal: { entries, stock: { takenAt: new Date(T0).toISOString(), onHand: { 10: 10 } } },
  };
}

describe('the chaos invariant checker', () => {
  it('finds nothing wrong in a healthy ledger', () => {
    const { ledger, journal } = healthy();
    expect(findViolations(ledger, journal)).toEqual([]);
  });

  const breakages: Array<
    [string, InvariantId, string, (ledger: Ledger, journal: Pick<Journal, 'entries' | 'stock'>) => void]
  > = [
    [
      'the void compensation was skipped (authorization still open)',
      'no-net-charge',
      B,
      (ledger) => {
        const payment = ledger.payments.find((p) => p.checkoutId === B);
        if (payment) payment.status = 'REQUIRES_CONFIRMATION';
        ledger.bank = ledger.bank.filter((row) => row.key !== `${B}:void`);
      },
    ],
    [
      'a failed checkout was charged',
      'no-net-charge',
      B,
      (ledger) => {
        ledger.bank.push({
          key: `${B}:capture`,
          operation: 'capture',
          reference: 'x',
          amountCents: 100,
          outcome: 'succeeded',
        });
      },
    ],
    [
      'a completed checkout was captured twice by another key',
      'refunds-within-captures',
      A,
      (ledger) => {
        ledger.bank.push({
          key: `${A}:capture2`,
          operation: 'capture',
          reference: 'x',
          amountCents: 200,
          outcome: 'succeeded',
        });
      },
    ],
    [
      'a cancelled order was restocked twice',
      'cancelled-order-settled',
      ORDER_C,
      (ledger) => {
        ledger.movements.push({
          productId: 10,
          reason: 'RESTOCK',
          delta: 3,
          reference: ORDER_C,
          createdAt: T0 + 9_500,
        });
        const row = ledger.inventory[0];
        if (row) row.onHand += 3;
      },
    ],
    [
      'a cancelled order was never refunded',
      'cancelled-order-settled',
      ORDER_C,
      (ledger) => {
        const payment = ledger.payments.find((p) => p.checkoutId === C);
        if (payment) Object.assign(payment, { status: 'CAPTURED', refundedCents: 0 });
        ledger.bank = ledger.bank.filter((row) => row.key !== `${C}:refund`);
      },
    ],
    [
      'stock left reserved by an ended checkout',
      'checkout-ended',
      B,
      (ledger) => {
        const reservation = ledger.reservations.find((r) => r.checkoutId === B);
        if (reservation) reservation.status = 'RESERVED';
        const row = ledger.inventory[0];
        if (row) row.reserved = 1;
      },
    ],
    [
      'stock that appeared from nowhere',
      'stock-ledger',
      'product 10',
      (ledger) => {
        const row = ledger.inventory[0];
        if (row) row.onHand = 9;
      },
    ],
    [
      'more sold than ever stocked',
      'no-oversell',
      'product 10',
      (_ledger, journal) => {
        if (journal.stock) journal.stock.onHand[10] = 1;
      },
    ],
    [
      'the purchased line still in the cart',
      'completed-checkout',
      A,
      (ledger) => {
        ledger.cartLines.push({ userId: 7, productId: 10, quantity: 2, version: 2 });
      },
    ],
    [
      'a 201 for a checkout that failed',
      'answers-agree',
      B,
      (_ledger, journal) => {
        journal.entries.push({
          kind: 'checkout',
          at: T0,
          userId: 7,
          key: 'k-b',
          paymentToken: 'tok_threeDSecure',
          repeat: true,
          status: 201,
          checkoutId: B,
          checkoutStatus: 'COMPLETED',
          orderId: ORDER_A,
        });
      },
    ],
    [
      'a confirmed 3-D Secure payment that did not complete',
      'answers-agree',
      B,
      (_ledger, journal) => {
        journal.entries.push({
          kind: 'webhook',
          at: T0 + 3_000,
          status: 200,
          checkoutId: B,
          event: 'payment.succeeded',
        });
      },
    ],
    [
      'a saga still running',
      'workflows-ended',
      A,
      (ledger) => {
        ledger.running.push({ workflowId: `checkout-${A}`, type: 'checkoutWorkflow', status: 'RUNNING' });
      },
    ],
    [
      'a search attribute that disagrees with Postgres',
      'workflows-ended',
      ORDER_A,
      (ledger) => {
        const wf = ledger.workflows.get(`order-${ORDER_A}`);
        if (wf) wf.orderStatus = 'SHIPPED';
      },
    ],
  ];

  it.each(breakages)('catches %s, naming it', (_title, invariant, subject, breakIt) => {
    const { ledger, journal } = healthy();
    breakIt(ledger, journal);
    const violations = findViolations(ledger, journal);
    expect(violations.map((v) => v.invariant)).toContain(invariant);
    expect(violations.find((v) => v.invariant === invariant)?.message).toContain(subject);
  });
});
