import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { type CheckoutJson, type CheckoutRecord, checkoutJson, isFinalStatus } from '../../lib/checkout.js';
import { AppError, isErrorCode } from '../../lib/errors.js';
import {
  type CheckoutService,
  checkoutIdFor,
  requestHash,
} from '../../services/checkout/checkout.service.js';
import type { CheckoutSaga } from '../checkout-saga.js';
import type { AppEnv, AuthUser } from '../context.js';
import { verifyWebhookSignature } from '../middleware/webhook-signature.js';
import type { Router } from '../route.js';
import {
  CancelCheckoutBody,
  CheckoutIdParams,
  CheckoutSchema,
  CreateCheckoutBody,
  checkoutResponse,
  PaymentWebhookBody,
  toShippingAddress,
  WebhookReceiptSchema,
} from '../schemas/checkout.schemas.js';
import { IDEMPOTENCY_KEY_RULE, IdempotencyKeyHeader } from '../schemas/common.js';

export interface CheckoutRouteDeps {
  checkouts: CheckoutService;
  saga: CheckoutSaga;
  /** How long a request waits for the saga's outcome before answering 202 (CHECKOUT_WAIT_MS). */
  waitMs: number;
  webhookSecret: string;
}

const location = (checkoutId: string) => `/api/v1/checkout/${checkoutId}`;
const RESPOND_ASYNC = /(?:^|,)\s*respond-async\s*(?:[;,]|$)/i;

function userId(user: AuthUser | undefined): number {
  if (!user) throw new Error('checkout route reached without an authenticated user');
  return user.id;
}

/** The key from the `Idempotency-Key` header or the original gateway's body field. */
function idempotencyKey(header: string | undefined, field: string | undefined): string {
  if (header !== undefined && field !== undefined && header !== field) {
    throw new AppError('invalid_argument', 'the Idempotency-Key header and idempotency_key differ');
  }
  const key = header ?? field;
  if (key === undefined) {
    throw new AppError(
      'missing_idempotency_key',
      'an idempotency key is required: send the Idempotency-Key header or idempotency_key',
    );
  }
  return key;
}

/**
 * Answers with the checkout as the contract maps its status: 201 when completed, the failure's
 * problem document (with the checkout id) when failed or cancelled, 202 while it runs.
 */
function respond(c: Context<AppEnv>, checkout: CheckoutJson): Response {
  c.header('Location', location(checkout.checkout_id));
  if (checkout.status === 'COMPLETED') return c.json(checkoutResponse(checkout), 201);
  if (checkout.status === 'FAILED' || checkout.status === 'CANCELLED') {
    const code =
      checkout.status === 'CANCELLED'
        ? 'checkout_cancelled'
        : isErrorCode(checkout.failure?.code)
          ? checkout.failure.code
          : 'internal_error';
    throw new AppError(code, checkout.failure?.message ?? `the checkout is ${checkout.status}`, {
      // `status` of a problem document is the HTTP status (RFC 9457); the checkout's is `checkout_status`.
      extra: {
        checkout_id: checkout.checkout_id,
        checkout_status: checkout.status,
        ...(checkout.failure?.reason ? { reason: checkout.failure.reason } : {}),
      },
    });
  }
  return c.json(checkoutResponse(checkout), 202);
}

export function registerCheckoutRoutes(router: Router, deps: CheckoutRouteDeps): void {
  const { checkouts, saga } = deps;

  /** The freshest view of a checkout that has not answered in time: the saga's, else the stored one. */
  async function current(
    checkoutId: string,
    stored: CheckoutRecord | undefined,
  ): Promise<CheckoutJson | undefined> {
    return (await saga.status(checkoutId)) ?? (stored ? checkoutJson(stored) : undefined);
  }

  router.route(
    {
      method: 'post',
      path: '/api/v1/checkout',
      operationId: 'createCheckout',
      summary: 'Check out my cart',
      description: [
        'Starts (or attaches to) the durable checkout saga for the idempotency key and waits up to `CHECKOUT_WAIT_MS` for its outcome:',
        '201 when completed, 202 while it runs (for example while 3-D Secure awaits confirmation; follow `Location`), or the failure as a problem document carrying `checkout_id` and `status`.',
        'The same key with the same body always yields the same checkout and outcome, also concurrently and after it ended; with another body it is 422 `idempotency_key_reused`.',
        'An empty cart (422 `cart_empty`) or another checkout of this user still running (409 `checkout_in_progress`) is refused before the saga starts and leaves the key unused.',
        '`Prefer: respond-async` answers 202 as soon as the checkout is recorded.',
      ].join(' '),
      tags: ['Checkout'],
      access: 'user',
      headers: z.object({
        'Idempotency-Key': IdempotencyKeyHeader(
          `Required unless \`idempotency_key\` is in the body: ${IDEMPOTENCY_KEY_RULE}.`,
        ),
        Prefer: z
          .string()
          .optional()
          .openapi({ description: '`respond-async` to answer 202 without waiting.' }),
      }),
      body: CreateCheckoutBody,
      bodyRequired: false,
      errors: [
        'missing_idempotency_key',
        'idempotency_key_reused',
        'cart_empty',
        'currency_mismatch',
        'checkout_in_progress',
        'insufficient_stock',
        'product_unavailable',
        'payment_declined',
        'reservation_expired',
        'checkout_cancelled',
        'service_unavailable',
      ],
      responses: {
        201: {
          description:
            'Completed: the order exists, its stock is committed and the purchased lines left the cart',
          schema: CheckoutSchema,
          headers: { Location: { description: 'The checkout', schema: { type: 'string' } } },
        },
        202: {
          description: 'Still running; poll `Location`',
          schema: CheckoutSchema,
          headers: { Location: { description: 'The checkout', schema: { type: 'string' } } },
        },
      },
    },
    async (c, { user, body, headers }) => {
      const buyer = userId(user);
      const key = idempotencyKey(headers['Idempotency-Key'], body.idempotency_key);
      const shippingAddress = toShippingAddress(body.shipping_address);
      const hash = requestHash({ paymentToken: body.payment_token, shippingAddress });
      const checkoutId = checkoutIdFor(buyer, key);
      const respondAsync = RESPOND_ASYNC.test(headers.Prefer ?? '');

      const stored = await checkouts.findForRequest(checkoutId, hash);
      if (stored && isFinalStatus(stored.status)) return respond(c, checkoutJson(stored));
      let summary = stored
        ? {
            itemCount: stored.lines.reduce((sum, line) => sum + line.quantity, 0),
            totalCents: stored.totalCents,
            currency: stored.currency,
          }
        : undefined;
      if (!summary) {
        // Checked before the saga starts, so the key stays unused (the saga checks again).
        const preview = await checkouts.preview(buyer, checkoutId);
        if (preview.itemCount === 0) {
          throw new AppError('cart_empty', 'the cart is empty; add products before checking out');
        }
        if (preview.activeCheckoutId) {
          throw new AppError('checkout_in_progress', 'another checkout of this cart is still in progress', {
            extra: { checkout_id: preview.activeCheckoutId },
          });
        }
        summary = preview;
      }

      const result = await saga.submit(
        {
          checkoutId,
          userId: buyer,
          idempotencyKey: key,
          requestHash: hash,
          paymentToken: body.payment_token,
          shippingAddress,
        },
        { waitMs: deps.waitMs, until: respondAsync ? 'opened' : 'outcome', summary },
      );
      if (respondAsync) c.header('Preference-Applied', 'respond-async');
      // A stored answer of an earlier identical request may predate what happened since (a 3-D Secure
      // checkout answered while pending): only a final answer is final.
      if (result.kind === 'answered' && isFinalStatus(result.checkout.status))
        return respond(c, result.checkout);
      const record = await checkouts.findForRequest(checkoutId, hash);
      if (result.kind === 'ended' && record) return respond(c, checkoutJson(record));
      const live =
        (await current(checkoutId, record)) ?? (result.kind === 'answered' ? result.checkout : undefined);
      if (!live) {
        throw new AppError(
          'service_unavailable',
          'the checkout was accepted but its state cannot be read yet; retry',
          {
            extra: { checkout_id: checkoutId },
          },
        );
      }
      return respond(c, live);
    },
  );

  router.route(
    {
      method: 'get',
      path: '/api/v1/checkout/{checkout_id}',
      operationId: 'getCheckout',
      summary: 'Get one of my checkouts',
      description: "Read from the durable checkout record; another user's checkout is reported as not found.",
      tags: ['Checkout'],
      access: 'user',
      params: CheckoutIdParams,
      errors: ['not_found'],
      responses: { 200: { description: 'The checkout', schema: CheckoutSchema } },
    },
    async (c, { user, params }) =>
      c.json(checkoutResponse(checkoutJson(await checkouts.getForUser(userId(user), params.checkout_id)))),
  );

  router.route(
    {
      method: 'post',
      path: '/api/v1/checkout/{checkout_id}/cancel',
      operationId: 'cancelCheckout',
      summary: 'Cancel one of my checkouts',
      description:
        'Allowed until the order is being created: the stock is released and the authorization voided. 202 once accepted (the body is `CANCELLED` when that took effect within the wait), 200 when already cancelled.',
      tags: ['Checkout'],
      access: 'user',
      params: CheckoutIdParams,
      body: CancelCheckoutBody,
      bodyRequired: false,
      errors: ['not_found', 'checkout_not_cancellable', 'service_unavailable'],
      responses: {
        200: { description: 'Already cancelled', schema: CheckoutSchema },
        202: { description: 'Cancellation accepted', schema: CheckoutSchema },
      },
    },
    async (c, { user, params, body }) => {
      const record = await checkouts.getForUser(userId(user), params.checkout_id);
      if (record.status === 'CANCELLED') return c.json(checkoutResponse(checkoutJson(record)), 200);
      if (isFinalStatus(record.status)) {
        throw new AppError('checkout_not_cancellable', `the checkout is already ${record.status}`);
      }
      const cancelled = await saga.cancel(record.id, body.reason || undefined, deps.waitMs);
      const json =
        cancelled ?? (await current(record.id, await checkouts.find(record.id))) ?? checkoutJson(record);
      return c.json(checkoutResponse(json), 202);
    },
  );

  router.route(
    {
      method: 'post',
      path: '/api/v1/payments/webhook',
      operationId: 'paymentWebhook',
      summary: 'Payment provider webhook',
      description:
        'Delivers a 3-D Secure result to the checkout saga. `X-Signature: sha256=<hex HMAC-SHA256 of the raw body with PAYMENT_WEBHOOK_SECRET>`, checked before anything else. Duplicates and late deliveries are harmless.',
      tags: ['Checkout'],
      access: 'public',
      guard: verifyWebhookSignature(deps.webhookSecret),
      headers: z.object({
        'X-Signature': z
          .string()
          .regex(/^[Ss][Hh][Aa]256=[0-9A-Fa-f]{64}$/)
          .openapi({
            description: '`sha256=` and the hex HMAC-SHA256 of the raw body; anything else is 401.',
          }),
      }),
      body: PaymentWebhookBody,
      errors: ['unauthenticated', 'not_found', 'service_unavailable'],
      responses: { 200: { description: 'Received', schema: WebhookReceiptSchema } },
    },
    async (c, { body }) => {
      if (!(await checkouts.find(body.checkout_id))) {
        throw new AppError('not_found', `checkout ${body.checkout_id} not found`);
      }
      await saga.confirmPayment(
        body.checkout_id,
        body.event === 'payment.succeeded'
          ? { approved: true }
          : { approved: false, reason: body.reason ?? 'CARD_DECLINED' },
      );
      return c.json({ received: true as const, checkout_id: body.checkout_id });
    },
  );
}
