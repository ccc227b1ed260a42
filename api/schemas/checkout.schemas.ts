import { z } from '@hono/zod-openapi';
import {
  CHECKOUT_STATUSES,
  type CheckoutJson,
  DECLINE_REASONS,
  type ShippingAddress,
} from '../../lib/checkout.js';
import {
  IDEMPOTENCY_KEY,
  IDEMPOTENCY_KEY_RULE,
  nonBlankText,
  pathUuid,
  ShippingAddressOut,
  Timestamp,
  trimmedText,
  UUID,
} from './common.js';

export const ShippingAddressSchema = z
  .strictObject({
    name: nonBlankText('name', 200).openapi({ example: 'Ada Lovelace' }),
    line1: nonBlankText('line1', 200).openapi({ example: '12 Analytical Row' }),
    line2: trimmedText('line2', 200).optional().openapi({ example: 'Flat 3' }),
    city: nonBlankText('city', 100).openapi({ example: 'London' }),
    postal_code: z
      .string()
      .regex(
        /^[A-Za-z0-9][A-Za-z0-9 -]{0,14}[A-Za-z0-9]$|^[A-Za-z0-9]$/,
        'postal_code must be 1..16 letters, digits, spaces or dashes',
      )
      .openapi({ example: 'NW1 6XE' }),
    country: z
      .string()
      .regex(/^[A-Z]{2}$/, 'country must be an ISO 3166-1 alpha-2 code such as "GB"')
      .openapi({ example: 'GB' }),
  })
  .openapi('ShippingAddress');

export const CreateCheckoutBody = z
  .strictObject({
    idempotency_key: z.string().regex(IDEMPOTENCY_KEY, IDEMPOTENCY_KEY_RULE).optional().openapi({
      description: "The original gateway's field; or send the `Idempotency-Key` header.",
      example: 'order-7f3a',
    }),
    payment_token: z
      .string()
      .regex(/^tok_[A-Za-z0-9]{1,64}$/, 'payment_token must look like tok_visa')
      .optional()
      .openapi({
        description:
          'A payment provider token. Test tokens: `tok_visa` (default), `tok_chargeDeclined`, `tok_insufficientFunds`, `tok_expiredCard`, `tok_incorrectCvc`, `tok_processingError`, `tok_threeDSecure`.',
        example: 'tok_visa',
      }),
    shipping_address: ShippingAddressSchema.nullable().optional(),
  })
  .openapi('CreateCheckout', {
    description: 'Every field is optional; unknown fields are refused so a misspelt one is never ignored.',
  });

export const CheckoutIdParams = z.object({ checkout_id: pathUuid('checkout_id') });

export const CancelCheckoutBody = z
  .strictObject({
    reason: trimmedText('reason', 500).optional(),
  })
  .openapi('CancelCheckout');

const money = (example: number) => z.number().int().openapi({ example });
const decimal = (example: number, of: string) =>
  z.number().openapi({ example, description: `Decimal form of \`${of}\`, for compatibility.` });

export const CheckoutSchema = z
  .object({
    checkout_id: z.string().openapi({ format: 'uuid' }),
    status: z.enum(CHECKOUT_STATUSES),
    items: z.array(
      z
        .object({
          product_id: z.number().int().openapi({ example: 1 }),
          product_name: z.string().openapi({ example: 'Laptop' }),
          quantity: z.number().int().openapi({ example: 1 }),
          price_cents: money(129999).openapi({
            description: 'Unit price snapshotted when the checkout started.',
          }),
          price: decimal(1299.99, 'price_cents'),
          subtotal_cents: money(129999),
          subtotal: decimal(1299.99, 'subtotal_cents'),
        })
        .openapi('CheckoutItem'),
    ),
    total_cents: money(129999),
    total_amount: decimal(1299.99, 'total_cents'),
    currency: z.string().openapi({ example: 'USD' }),
    shipping_address: ShippingAddressOut,
    order_id: z.string().nullable().openapi({ format: 'uuid', description: 'Set once the order exists.' }),
    reservation_expires_at: Timestamp.nullable().openapi({
      description: 'Until when the stock is held; a 3-D Secure confirmation must arrive before it.',
    }),
    failure: z
      .object({
        code: z.string().openapi({ example: 'payment_declined' }),
        reason: z
          .string()
          .nullable()
          .openapi({
            description: `The refusal reason of \`payment_declined\`: ${DECLINE_REASONS.join(', ')}.`,
          }),
        message: z.string(),
      })
      .nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi('Checkout');

export const PaymentWebhookBody = z
  .strictObject({
    checkout_id: z
      .string()
      .regex(UUID, 'checkout_id must be a UUID')
      .transform((id) => id.toLowerCase())
      .openapi({ format: 'uuid' }),
    event: z.enum(['payment.succeeded', 'payment.failed']),
    reason: z
      .enum(DECLINE_REASONS)
      .optional()
      .openapi({ description: 'Why a `payment.failed` was refused; default CARD_DECLINED.' }),
  })
  .openapi('PaymentWebhook');

export const WebhookReceiptSchema = z
  .object({ received: z.literal(true), checkout_id: z.string().openapi({ format: 'uuid' }) })
  .openapi('WebhookReceipt');

/** The contract's address in the domain's shape. */
export function toShippingAddress(
  body: z.output<typeof ShippingAddressSchema> | null | undefined,
): ShippingAddress | undefined {
  if (!body) return undefined;
  return {
    name: body.name,
    line1: body.line1,
    ...(body.line2 ? { line2: body.line2 } : {}),
    city: body.city,
    postalCode: body.postal_code,
    country: body.country,
  };
}

/** The checkout model already builds the contract's shape; this only fails to compile if the two drift apart. */
export const checkoutResponse = (json: CheckoutJson): z.input<typeof CheckoutSchema> => json;
