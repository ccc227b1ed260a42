import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, inject, it } from 'vitest';
import { eventually, type Json } from '../support/black-box.js';
import type { E2E } from './harness.js';
import { expectCheckout, newProduct, newShopper, stockOf } from './shopper.js';

const run = promisify(execFile);

/**
 * The operator's path of the README ("Operating checkouts", "Operating orders"): the official
 * `temporal` CLI against npm start's Temporal server, steering the workflows the API drives.
 */
export function operatorSuite(e2e: () => E2E): void {
  async function temporal(...args: string[]): Promise<string> {
    const { stdout } = await run(
      inject('temporalCli'),
      [...args, '--address', e2e().banner.temporalAddress, '--namespace', 'default'],
      { timeout: 30_000 },
    );
    return stdout;
  }

  /** `temporal workflow list --query ...`, as JSON lines. */
  async function list(query: string): Promise<Json[]> {
    const stdout = await temporal('workflow', 'list', '--query', query, '--output', 'json');
    return JSON.parse(stdout.trim() || '[]');
  }

  /** Waits for the list query to find exactly this workflow (visibility is updated asynchronously). */
  function find(query: string, workflowId: string): Promise<Json> {
    return eventually(
      `temporal workflow list --query "${query}" to show ${workflowId}`,
      async () => (await list(query)).find((entry) => entry.execution.workflowId === workflowId),
      { timeoutMs: 30_000, intervalMs: 500 },
    );
  }

  describe('operators with the temporal CLI', () => {
    it('finds a checkout awaiting 3-D Secure, confirms it by signal, then ships and delivers its order', async () => {
      const shop = await newShopper(e2e());
      await shop.add(4, 1);
      const pending = expectCheckout(
        await shop.checkout('op-3ds', { payment_token: 'tok_threeDSecure' }),
        202,
        'PAYMENT_PENDING',
      );
      const workflowId = `checkout-${pending.checkout_id}`;
      const found = await find(`CheckoutStatus='PAYMENT_PENDING' AND UserId=${shop.userId}`, workflowId);
      expect(found.type.name).toBe('checkoutWorkflow');

      const status = JSON.parse(
        await temporal(
          'workflow',
          'query',
          '--workflow-id',
          workflowId,
          '--name',
          'getStatus',
          '--output',
          'json',
        ),
      );
      expect(JSON.stringify(status)).toContain('PAYMENT_PENDING');

      await temporal(
        'workflow',
        'signal',
        '--workflow-id',
        workflowId,
        '--name',
        'paymentConfirmed',
        '--input',
        '{}',
      );
      const completed = await shop.until(pending.checkout_id, 'COMPLETED', 'FAILED');
      expect(completed.status).toBe('COMPLETED');
      await find(`CheckoutStatus='COMPLETED' AND OrderId='${completed.order_id}'`, workflowId);

      const orderWorkflow = `order-${completed.order_id}`;
      await find(`OrderStatus='CONFIRMED' AND UserId=${shop.userId}`, orderWorkflow);
      await temporal(
        'workflow',
        'signal',
        '--workflow-id',
        orderWorkflow,
        '--name',
        'shipOrder',
        '--input',
        '{"tracking_number": "1Z999"}',
      );
      const shipped = await shop.orderUntil(completed.order_id, (order) => order.status === 'SHIPPED');
      expect(shipped.tracking_number).toBe('1Z999');
      await find(`OrderStatus='SHIPPED' AND UserId=${shop.userId}`, orderWorkflow);

      // A signal not allowed now changes nothing: a shipped order is not cancelled.
      await temporal(
        'workflow',
        'signal',
        '--workflow-id',
        orderWorkflow,
        '--name',
        'cancelOrder',
        '--input',
        '{}',
      );
      await temporal('workflow', 'signal', '--workflow-id', orderWorkflow, '--name', 'deliverOrder');
      const delivered = await shop.orderUntil(completed.order_id, (order) => order.status === 'DELIVERED');
      expect(delivered.payment.refunded_cents).toBe(0);
      const closed = await find(`OrderStatus='DELIVERED' AND ExecutionStatus='Completed'`, orderWorkflow);
      expect(closed.type.name).toBe('orderWorkflow');
    }, 120_000);

    it('refuses a payment and cancels a checkout by signal, and lists failures by code', async () => {
      const refused = await newShopper(e2e());
      await refused.add(2, 1);
      const pending = expectCheckout(
        await refused.checkout('op-refuse', { payment_token: 'tok_threeDSecure' }),
        202,
        'PAYMENT_PENDING',
      );
      await temporal(
        'workflow',
        'signal',
        '--workflow-id',
        `checkout-${pending.checkout_id}`,
        '--name',
        'paymentConfirmed',
        '--input',
        '{"approved": false, "reason": "CARD_DECLINED"}',
      );
      const failed = await refused.until(pending.checkout_id, 'FAILED');
      expect(failed.failure).toMatchObject({ code: 'payment_declined', reason: 'CARD_DECLINED' });
      await find(
        "CheckoutStatus='FAILED' AND FailureCode='payment_declined'",
        `checkout-${pending.checkout_id}`,
      );

      const cancelled = await newShopper(e2e());
      const product = await newProduct(e2e(), { name: 'E2E Operator', price_cents: 1000, stock: 2 });
      await cancelled.add(product.id, 2);
      const held = expectCheckout(
        await cancelled.checkout('op-cancel', { payment_token: 'tok_threeDSecure' }),
        202,
        'PAYMENT_PENDING',
      );
      await temporal(
        'workflow',
        'signal',
        '--workflow-id',
        `checkout-${held.checkout_id}`,
        '--name',
        'cancelCheckout',
        '--input',
        '{"reason": "fraud check"}',
      );
      expect((await cancelled.until(held.checkout_id, 'CANCELLED')).failure.code).toBe('checkout_cancelled');
      expect(await stockOf(e2e(), product.id)).toMatchObject({ on_hand: 2, reserved: 0 });
    }, 120_000);

    it('cancels an order by signal: refunded and restocked', async () => {
      const shop = await newShopper(e2e());
      const product = await newProduct(e2e(), { name: 'E2E Signalled', price_cents: 1200, stock: 3 });
      await shop.add(product.id, 1);
      const checkout = expectCheckout(await shop.checkout('op-order-cancel'), 201, 'COMPLETED');
      await shop.orderUntil(checkout.order_id, (order) => order.payment.status === 'CAPTURED');
      await temporal(
        'workflow',
        'signal',
        '--workflow-id',
        `order-${checkout.order_id}`,
        '--name',
        'cancelOrder',
        '--input',
        '{"reason": "out of stock at the warehouse"}',
      );
      const order = await shop.orderUntil(checkout.order_id, (o) => o.payment.status === 'REFUNDED');
      expect(order).toMatchObject({ status: 'CANCELLED', payment: { refunded_cents: 1200 } });
      // The restock follows the refund ("done or in progress" when the order answers).
      await eventually('the stock to be back', async () =>
        (await stockOf(e2e(), product.id)).on_hand === 3 ? true : undefined,
      );
    }, 90_000);
  });
}
