import { Client, Connection } from '@temporalio/client';
import type postgres from 'postgres';

/**
 * Everything the platform recorded, read straight from its stores: Postgres (the system of
 * record, the payment rows and the mock provider's own books, which stand in for the bank) and
 * Temporal (each saga's and order lifecycle's execution, described one by one, plus what
 * visibility lists as running or failed). The invariants are checked over this snapshot.
 */

export interface CheckoutLineRow {
  productId: number;
  quantity: number;
  cartLineVersion: number;
}

export interface CheckoutRow {
  id: string;
  userId: number;
  idempotencyKey: string;
  status: string;
  lines: CheckoutLineRow[];
  totalCents: number;
  orderId: string | null;
  failureCode: string | null;
  failureReason: string | null;
  /** Times in ms since the epoch. */
  reservationExpiresAt: number | null;
  createdAt: number;
  updatedAt: number;
}

export interface ReservationRow {
  checkoutId: string;
  productId: number;
  quantity: number;
  status: string;
}

export interface PaymentRow {
  id: string;
  checkoutId: string;
  amountCents: number;
  status: string;
  capturedCents: number;
  refundedCents: number;
  paymentMethod: string;
}

/** One request the mock provider processed, by idempotency key (`<checkout>:<step>`). */
export interface BankRow {
  key: string;
  operation: string;
  reference: string;
  amountCents: number;
  outcome: string;
}

export interface OrderRow {
  id: string;
  checkoutId: string;
  userId: number;
  status: string;
  totalCents: number;
}

export interface OrderItemRow {
  orderId: string;
  productId: number;
  quantity: number;
}

export interface MovementRow {
  productId: number;
  reason: string;
  delta: number;
  reference: string;
  /** ms since the epoch. */
  createdAt: number;
}

export interface InventoryRow {
  productId: number;
  onHand: number;
  reserved: number;
}

export interface CartLine {
  userId: number;
  productId: number;
  quantity: number;
  version: number;
}

export interface WorkflowState {
  workflowId: string;
  type: string;
  /** RUNNING, COMPLETED, FAILED, TERMINATED, CANCELLED, TIMED_OUT, CONTINUED_AS_NEW; NOT_FOUND. */
  status: string;
  checkoutStatus?: string | undefined;
  orderStatus?: string | undefined;
}

export interface Ledger {
  checkouts: CheckoutRow[];
  reservations: ReservationRow[];
  payments: PaymentRow[];
  bank: BankRow[];
  orders: OrderRow[];
  orderItems: OrderItemRow[];
  movements: MovementRow[];
  inventory: InventoryRow[];
  cartLines: CartLine[];
  /** Workflow id -> its execution as Temporal describes it. */
  workflows: Map<string, WorkflowState>;
  /** What visibility lists as running, and as closed other than completed. */
  running: WorkflowState[];
  unsuccessful: WorkflowState[];
}

export async function readLedger(sql: postgres.Sql, temporalAddress: string): Promise<Ledger> {
  const checkouts = await sql<CheckoutRow[]>`
    select id::text, user_id::int as "userId", idempotency_key as "idempotencyKey", status, lines,
           total_cents::int as "totalCents", order_id::text as "orderId", failure_code as "failureCode",
           failure_reason as "failureReason", (extract(epoch from reservation_expires_at) * 1000)::float8 as "reservationExpiresAt",
           (extract(epoch from created_at) * 1000)::float8 as "createdAt", (extract(epoch from updated_at) * 1000)::float8 as "updatedAt"
    from checkouts order by created_at`;
  const reservations = await sql<ReservationRow[]>`
    select checkout_id::text as "checkoutId", product_id::int as "productId", quantity, status from reservations`;
  const payments = await sql<PaymentRow[]>`
    select id::text, checkout_id::text as "checkoutId", amount_cents::int as "amountCents", status,
           captured_cents::int as "capturedCents", refunded_cents::int as "refundedCents", payment_method as "paymentMethod"
    from payments`;
  const bank = await sql<BankRow[]>`
    select idempotency_key as key, operation, reference, amount_cents::int as "amountCents", outcome
    from mock_provider_requests`;
  const orders = await sql<OrderRow[]>`
    select id::text, checkout_id::text as "checkoutId", user_id::int as "userId", status, total_cents::int as "totalCents"
    from orders`;
  const orderItems = await sql<OrderItemRow[]>`
    select order_id::text as "orderId", product_id::int as "productId", quantity from order_items`;
  const movements = await sql<MovementRow[]>`
    select product_id::int as "productId", reason, delta, reference, (extract(epoch from created_at) * 1000)::float8 as "createdAt" from stock_movements`;
  const inventory = await sql<InventoryRow[]>`
    select product_id::int as "productId", on_hand as "onHand", reserved from inventory order by product_id`;
  const cartLines = await sql<CartLine[]>`
    select c.user_id::int as "userId", i.product_id::int as "productId", i.quantity, i.version::bigint::float8 as version
    from cart_items i join carts c on c.id = i.cart_id`;

  const connection = await Connection.connect({ address: temporalAddress });
  try {
    const client = new Client({ connection });
    const ids = [
      ...checkouts.map((checkout) => `checkout-${checkout.id}`),
      ...orders.map((order) => `order-${order.id}`),
    ];
    const workflows = new Map<string, WorkflowState>();
    const queue = [...ids];
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
          workflows.set(id, await describe(client, id));
        }
      }),
    );
    const list = async (query: string) => {
      const found: WorkflowState[] = [];
      for await (const info of client.workflow.list({ query })) {
        found.push({ workflowId: info.workflowId, type: info.type, status: info.status.name });
      }
      return found;
    };
    return {
      checkouts: [...checkouts],
      reservations: [...reservations],
      payments: [...payments],
      bank: [...bank],
      orders: [...orders],
      orderItems: [...orderItems],
      movements: [...movements],
      inventory: [...inventory],
      cartLines: [...cartLines],
      workflows,
      running: await list(`ExecutionStatus='Running'`),
      unsuccessful: await list(
        `ExecutionStatus='Failed' OR ExecutionStatus='Terminated' OR ExecutionStatus='TimedOut' OR ExecutionStatus='Canceled'`,
      ),
    };
  } finally {
    await connection.close();
  }
}

async function describe(client: Client, workflowId: string): Promise<WorkflowState> {
  try {
    const description = await client.workflow.getHandle(workflowId).describe();
    const attributes = description.searchAttributes as Record<string, unknown[] | undefined>;
    return {
      workflowId,
      type: description.type,
      status: description.status.name,
      checkoutStatus: attributes.CheckoutStatus?.[0] as string | undefined,
      orderStatus: attributes.OrderStatus?.[0] as string | undefined,
    };
  } catch (error) {
    if ((error as Error).name === 'WorkflowNotFoundError')
      return { workflowId, type: '', status: 'NOT_FOUND' };
    throw error;
  }
}
