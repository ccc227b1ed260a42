import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Custom search attributes operators filter sagas by in the Web UI and `temporal workflow list`
 * (names fixed by the operator contract). The dev server registers them at start; workers
 * register them on other clusters. Pure: workflows import the typed keys.
 */
export const SEARCH_ATTRIBUTES = {
  CheckoutStatus: 'Keyword',
  OrderStatus: 'Keyword',
  UserId: 'Int',
  OrderId: 'Keyword',
  TotalCents: 'Int',
  FailureCode: 'Keyword',
} as const;
export type SearchAttributeName = keyof typeof SEARCH_ATTRIBUTES;

export const CheckoutStatusKey = defineSearchAttributeKey('CheckoutStatus', SearchAttributeType.KEYWORD);
export const OrderStatusKey = defineSearchAttributeKey('OrderStatus', SearchAttributeType.KEYWORD);
export const UserIdKey = defineSearchAttributeKey('UserId', SearchAttributeType.INT);
export const OrderIdKey = defineSearchAttributeKey('OrderId', SearchAttributeType.KEYWORD);
export const TotalCentsKey = defineSearchAttributeKey('TotalCents', SearchAttributeType.INT);
export const FailureCodeKey = defineSearchAttributeKey('FailureCode', SearchAttributeType.KEYWORD);
