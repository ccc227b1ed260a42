/**
 * What the chaos run saw from outside: every answer a shopper or the admin got that says
 * something about the final state, the faults injected, and the stock at the start. The checker
 * holds Postgres and Temporal against it afterwards.
 */

export type FaultKind = 'worker' | 'redis' | 'postgres' | 'temporal' | 'api';
export const FAULT_KINDS: readonly FaultKind[] = ['worker', 'redis', 'postgres', 'temporal', 'api'];

export const FAULT_DESCRIPTIONS: Record<FaultKind, string> = {
  worker: 'worker killed with SIGKILL, restarted by npm start',
  redis: 'redis-server killed and kept down a few seconds (port held), then started again',
  postgres: 'Postgres postmaster killed with SIGKILL and kept down a few seconds, then restarted on its data',
  temporal: 'Temporal dev server killed and kept down a few seconds, then restarted on its SQLite history',
  api: 'API killed with SIGKILL, restarted by npm start',
};

export interface Fault {
  kind: FaultKind;
  /** ms since the epoch. */
  at: number;
  /** How long the component was kept away before it could be restarted. */
  downMs: number;
  /** Until /ready answered 200 again, from `at`; undefined if it never did within the bound. */
  recoveredMs: number | undefined;
  oldPid: number | undefined;
  newPid: number | undefined;
}

/** The answer to one request; status 0 is a network error (the API was away). */
export interface AnswerRecord {
  at: number;
  status: number;
  code?: string | undefined;
}

/**
 * What every answer to a move records: when it came, its status, the problem's code on a refusal
 * and the body's `status` on success.
 */
export function answerRecord(answer: {
  status: number;
  body?: { code?: string; status?: string } | undefined;
}): AnswerRecord & { bodyStatus: string | undefined } {
  return {
    at: Date.now(),
    status: answer.status,
    code: answer.status >= 400 ? answer.body?.code : undefined,
    bodyStatus: answer.status < 300 ? answer.body?.status : undefined,
  };
}

export interface CheckoutAnswer extends AnswerRecord {
  kind: 'checkout';
  userId: number;
  key: string;
  paymentToken: string;
  /** Sent alongside another request with the same key, or as a deliberate repeat. */
  repeat: boolean;
  checkoutId?: string | undefined;
  /** `status` of the Checkout body, or `checkout_status` of the problem document. */
  checkoutStatus?: string | undefined;
  orderId?: string | null | undefined;
  reason?: string | undefined;
}

export interface CheckoutCancelAnswer extends AnswerRecord {
  kind: 'checkout-cancel';
  userId: number;
  checkoutId: string;
  bodyStatus?: string | undefined;
}

export interface WebhookAnswer extends AnswerRecord {
  kind: 'webhook';
  checkoutId: string;
  event: 'payment.succeeded' | 'payment.failed';
  reason?: string | undefined;
}

export interface OrderMoveAnswer extends AnswerRecord {
  kind: 'order-cancel' | 'order-ship' | 'order-deliver';
  orderId: string;
  bodyStatus?: string | undefined;
}

/** The cart a shopper read right after a 201: the purchased lines must be gone. */
export interface CartAfterCompletion {
  kind: 'cart-after-completion';
  at: number;
  userId: number;
  checkoutId: string;
  /** Product ids in the cart then. */
  productIds: number[];
}

export type JournalEntry =
  | CheckoutAnswer
  | CheckoutCancelAnswer
  | WebhookAnswer
  | OrderMoveAnswer
  | CartAfterCompletion;

export interface StockSnapshot {
  /** Postgres `now()` when it was taken (ISO). */
  takenAt: string;
  /** product id -> on_hand (nothing was reserved then). */
  onHand: Record<number, number>;
}

export interface Journal {
  startedAt: number;
  stock: StockSnapshot | undefined;
  entries: JournalEntry[];
  faults: Fault[];
  /** Session scenarios run, by name. */
  scenarios: Record<string, number>;
}

export function newJournal(): Journal {
  return { startedAt: Date.now(), stock: undefined, entries: [], faults: [], scenarios: {} };
}
