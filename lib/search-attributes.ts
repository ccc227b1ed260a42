/**
 * Custom search attributes operators filter sagas by in the Web UI and `temporal workflow list`.
 * The dev server registers them at start; workers register them on other clusters.
 */
export const SEARCH_ATTRIBUTES = {
  CheckoutStatus: 'Keyword',
  UserId: 'Int',
  OrderId: 'Keyword',
  TotalCents: 'Int',
  FailureCode: 'Keyword',
} as const;

export type SearchAttributeName = keyof typeof SEARCH_ATTRIBUTES;
