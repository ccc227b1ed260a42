import { type ShippingAddress, type ShippingAddressJson, shippingAddressJson } from './checkout.js';
import { centsToDecimal } from './money.js';

/**
 * The order as one pure model shared by the orders service (which stores it), the order
 * lifecycle workflow (which answers `getStatus` with it) and the API (which returns it): the
 * contract's JSON shape is built here once. No I/O: workflows import it.
 */

export const ORDER_STATUSES = ['CONFIRMED', 'SHIPPED', 'DELIVERED', 'CANCELLED'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

/** The moves an order can make; anything else is refused with a reason. */
export const ORDER_TRANSITIONS: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  CONFIRMED: ['SHIPPED', 'CANCELLED'],
  SHIPPED: ['DELIVERED'],
  DELIVERED: [],
  CANCELLED: [],
};

export function isFinalOrderStatus(status: OrderStatus): boolean {
  return ORDER_TRANSITIONS[status].length === 0;
}

export interface OrderLine {
  productId: number;
  productName: string;
  quantity: number;
  priceCents: number;
  subtotalCents: number;
}

export interface OrderPayment {
  paymentId: string;
  status: string;
  amountCents: number;
  refundedCents: number;
}

/** An order as stored and as its workflow holds it. Times are ISO strings so it crosses Temporal unchanged. */
export interface OrderRecord {
  id: string;
  checkoutId: string;
  userId: number;
  status: OrderStatus;
  lines: OrderLine[];
  totalCents: number;
  currency: string;
  payment: OrderPayment | null;
  shippingAddress: ShippingAddress | null;
  trackingNumber: string | null;
  createdAt: string;
  updatedAt: string;
}

/** The contract's `Order` object. */
export interface OrderJson {
  id: string;
  checkout_id: string;
  status: OrderStatus;
  items: Array<{
    product_id: number;
    product_name: string;
    quantity: number;
    price_cents: number;
    price: number;
    subtotal_cents: number;
  }>;
  total_cents: number;
  total_amount: number;
  currency: string;
  payment: { payment_id: string; status: string; amount_cents: number; refunded_cents: number } | null;
  shipping_address: ShippingAddressJson | null;
  tracking_number: string | null;
  created_at: string;
  updated_at: string;
}

export function orderJson(order: OrderRecord): OrderJson {
  return {
    id: order.id,
    checkout_id: order.checkoutId,
    status: order.status,
    items: order.lines.map((line) => ({
      product_id: line.productId,
      product_name: line.productName,
      quantity: line.quantity,
      price_cents: line.priceCents,
      price: centsToDecimal(line.priceCents),
      subtotal_cents: line.subtotalCents,
    })),
    total_cents: order.totalCents,
    total_amount: centsToDecimal(order.totalCents),
    currency: order.currency,
    payment: order.payment
      ? {
          payment_id: order.payment.paymentId,
          status: order.payment.status,
          amount_cents: order.payment.amountCents,
          refunded_cents: order.payment.refundedCents,
        }
      : null,
    shipping_address: shippingAddressJson(order.shippingAddress),
    tracking_number: order.trackingNumber,
    created_at: order.createdAt,
    updated_at: order.updatedAt,
  };
}
