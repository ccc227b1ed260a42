import type { Journal } from './journal.js';
import type { CheckoutRow, Ledger, OrderRow, WorkflowState } from './ledger.js';

/** What the checker proves, in the words of the report. */
export const INVARIANTS = {
  'no-oversell':
    'No product oversold: on_hand >= 0, reserved <= on_hand, net units sold <= initial stock + restocks',
  'stock-ledger':
    'on_hand + units committed = initial stock + restocks (admin adjustments and order restocks); reserved = live reservations; units committed = units ordered; units restocked = units of cancelled orders',
  'checkout-ended':
    'Every checkout ended (COMPLETED, FAILED or CANCELLED) and holds no reservation afterwards',
  'completed-checkout':
    'Every COMPLETED checkout has exactly one order, one capture of its total, its stock committed and its purchased lines removed from the cart',
  'no-net-charge':
    "Every FAILED or CANCELLED checkout has no net charge and no open authorization (payment rows and the provider's books), no live order, its stock returned",
  'refunds-within-captures': 'Refunds never exceed captures, in the payment rows and at the provider',
  'cancelled-order-settled': 'Every cancelled order is refunded in full and restocked, each exactly once',
  'answers-agree':
    'Every answer the shoppers and the admin got (201/202/402/409/422, ids) agrees with the final state',
  'workflows-ended':
    'No workflow is left running that should have ended, none failed or was terminated, and search attributes match Postgres',
} as const;
export type InvariantId = keyof typeof INVARIANTS;

export interface Violation {
  invariant: InvariantId;
  message: string;
}

const FINAL = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);
const FAILURE_CODES_409 = new Set(['insufficient_stock', 'product_unavailable', 'reservation_expired']);
/** Housekeeping workflows run by schedules; one may be running when the checker looks. */
const HOUSEKEEPING = new Set(['purgeIdleCartsWorkflow', 'releaseExpiredReservationsWorkflow']);

const short = (id: string) => id;
const describeCheckout = (c: CheckoutRow) =>
  `checkout ${short(c.id)} (user ${c.userId}, key ${c.idempotencyKey}, ${c.status}${c.failureCode ? ` ${c.failureCode}` : ''})`;

function groupBy<T, K>(items: readonly T[], key: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = groups.get(k);
    if (list) list.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

const sum = (values: Iterable<number>) => {
  let total = 0;
  for (const value of values) total += value;
  return total;
};

/**
 * Holds the recorded state against the guarantees of the platform and against what its clients
 * were told. Pure: the same ledger and journal always give the same violations.
 */
export function findViolations(ledger: Ledger, journal: Pick<Journal, 'entries' | 'stock'>): Violation[] {
  const violations: Violation[] = [];
  const fail = (invariant: InvariantId, message: string) => violations.push({ invariant, message });

  const checkoutsById = new Map(ledger.checkouts.map((c) => [c.id, c]));
  const checkoutByKey = new Map(ledger.checkouts.map((c) => [`${c.userId}:${c.idempotencyKey}`, c]));
  const reservationsOf = groupBy(ledger.reservations, (r) => r.checkoutId);
  const paymentOf = new Map(ledger.payments.map((p) => [p.checkoutId, p]));
  const ordersOf = groupBy(ledger.orders, (o) => o.checkoutId);
  const ordersById = new Map(ledger.orders.map((o) => [o.id, o]));
  const itemsOf = groupBy(ledger.orderItems, (i) => i.orderId);
  const restocks = ledger.movements.filter((m) => m.reason === 'RESTOCK');
  const restocksOf = groupBy(restocks, (m) => m.reference);
  const bankOf = groupBy(ledger.bank, (row) => row.key.split(':')[0] ?? '');
  const cartLines = new Set(ledger.cartLines.map((l) => `${l.userId}:${l.productId}:${l.version}`));

  /** What the provider did for a checkout: net charge, and whether an authorization is still open. */
  function bankView(checkoutId: string) {
    const rows = bankOf.get(checkoutId) ?? [];
    const succeeded = (operation: string) =>
      rows.filter((row) => row.operation === operation && row.outcome === 'succeeded');
    const authorize = rows.find((row) => row.operation === 'authorize');
    const confirm = rows.find((row) => row.operation === 'confirm');
    const captured = sum(succeeded('capture').map((row) => row.amountCents));
    const refunded = sum(succeeded('refund').map((row) => row.amountCents));
    const authorized =
      authorize?.outcome === 'approved' ||
      (authorize?.outcome === 'requires_confirmation' && confirm?.outcome !== 'declined');
    const open = authorized && succeeded('void').length === 0 && succeeded('capture').length === 0;
    return {
      captures: succeeded('capture').length,
      refunds: succeeded('refund').length,
      captured,
      refunded,
      open,
    };
  }

  /** RESTOCK movements of a checkout (by its id, or its order's id), per product. */
  function restockedOf(checkout: CheckoutRow, order: OrderRow | undefined) {
    const rows = [...(restocksOf.get(checkout.id) ?? []), ...(order ? (restocksOf.get(order.id) ?? []) : [])];
    return groupBy(rows, (m) => m.productId);
  }

  // Stock, per product.
  const committed = groupBy(
    ledger.reservations.filter((r) => r.status === 'COMMITTED'),
    (r) => r.productId,
  );
  const live = groupBy(
    ledger.reservations.filter((r) => r.status === 'RESERVED'),
    (r) => r.productId,
  );
  const ordered = new Map<number, number>();
  const cancelledUnits = new Map<number, number>();
  for (const item of ledger.orderItems) {
    ordered.set(item.productId, (ordered.get(item.productId) ?? 0) + item.quantity);
    if (ordersById.get(item.orderId)?.status === 'CANCELLED') {
      cancelledUnits.set(item.productId, (cancelledUnits.get(item.productId) ?? 0) + item.quantity);
    }
  }
  const takenAt = journal.stock ? Date.parse(journal.stock.takenAt) : 0;
  for (const row of ledger.inventory) {
    const p = row.productId;
    const initial = journal.stock?.onHand[p];
    const adjusted = sum(
      ledger.movements
        .filter((m) => m.productId === p && m.reason === 'ADJUSTMENT' && m.createdAt >= takenAt)
        .map((m) => m.delta),
    );
    const restocked = sum(restocks.filter((m) => m.productId === p).map((m) => m.delta));
    const sold = sum((committed.get(p) ?? []).map((r) => r.quantity));
    const held = sum((live.get(p) ?? []).map((r) => r.quantity));
    if (row.onHand < 0 || row.reserved < 0 || row.reserved > row.onHand) {
      fail('no-oversell', `product ${p}: on_hand ${row.onHand}, reserved ${row.reserved}`);
    }
    if (row.reserved !== held) {
      fail(
        'stock-ledger',
        `product ${p}: inventory.reserved is ${row.reserved} but live reservations hold ${held}`,
      );
    }
    if (initial !== undefined) {
      if (sold - restocked > initial + adjusted) {
        fail(
          'no-oversell',
          `product ${p}: ${sold - restocked} units sold net of restocks, but only ${initial + adjusted} ever stocked`,
        );
      }
      if (row.onHand + sold !== initial + adjusted + restocked) {
        fail(
          'stock-ledger',
          `product ${p}: on_hand ${row.onHand} + committed ${sold} = ${row.onHand + sold}, but initial ${initial} + adjustments ${adjusted} + restocks ${restocked} = ${initial + adjusted + restocked}`,
        );
      }
    } else if (sold > 0) {
      fail(
        'stock-ledger',
        `product ${p}: sold ${sold} units but was not in the stock snapshot taken at the start`,
      );
    }
    if (sold !== (ordered.get(p) ?? 0)) {
      fail(
        'stock-ledger',
        `product ${p}: ${sold} units committed by checkouts but ${ordered.get(p) ?? 0} units on orders`,
      );
    }
    if (restocked !== (cancelledUnits.get(p) ?? 0)) {
      fail(
        'stock-ledger',
        `product ${p}: ${restocked} units restocked but ${cancelledUnits.get(p) ?? 0} units on cancelled orders`,
      );
    }
  }

  // Checkouts.
  for (const c of ledger.checkouts) {
    const what = describeCheckout(c);
    const reservations = reservationsOf.get(c.id) ?? [];
    const payment = paymentOf.get(c.id);
    const orders = ordersOf.get(c.id) ?? [];
    const bank = bankView(c.id);

    if (!FINAL.has(c.status)) {
      fail('checkout-ended', `${what} never ended`);
      continue;
    }
    if (reservations.some((r) => r.status === 'RESERVED')) {
      fail('checkout-ended', `${what} still holds reserved stock: ${JSON.stringify(reservations)}`);
    }
    if (bank.refunded > bank.captured || (payment && payment.refundedCents > payment.capturedCents)) {
      fail(
        'refunds-within-captures',
        `${what}: refunded ${bank.refunded} of ${bank.captured} captured at the provider (payment row: ${payment?.refundedCents} of ${payment?.capturedCents})`,
      );
    }
    if (bank.captures > 1 || bank.refunds > 1) {
      fail(
        'refunds-within-captures',
        `${what}: ${bank.captures} captures and ${bank.refunds} refunds at the provider`,
      );
    }

    if (c.status === 'COMPLETED') {
      const order = orders[0];
      if (orders.length !== 1 || !order) {
        fail('completed-checkout', `${what} has ${orders.length} orders`);
        continue;
      }
      if (c.orderId !== order.id)
        fail('completed-checkout', `${what} names order ${c.orderId} but order ${order.id} is its`);
      if (order.userId !== c.userId || order.totalCents !== c.totalCents) {
        fail(
          'completed-checkout',
          `${what}: order ${order.id} is for user ${order.userId}, ${order.totalCents} cents`,
        );
      }
      const items = new Map((itemsOf.get(order.id) ?? []).map((i) => [i.productId, i.quantity]));
      for (const line of c.lines) {
        const reservation = reservations.find((r) => r.productId === line.productId);
        if (items.get(line.productId) !== line.quantity) {
          fail(
            'completed-checkout',
            `${what}: order ${order.id} has ${items.get(line.productId) ?? 0} of product ${line.productId}, the checkout bought ${line.quantity}`,
          );
        }
        if (reservation?.status !== 'COMMITTED' || reservation.quantity !== line.quantity) {
          fail(
            'completed-checkout',
            `${what}: the stock of product ${line.productId} is ${reservation?.status ?? 'not reserved'}, not committed`,
          );
        }
        if (cartLines.has(`${c.userId}:${line.productId}:${line.cartLineVersion}`)) {
          fail(
            'completed-checkout',
            `${what}: the purchased cart line of product ${line.productId} (version ${line.cartLineVersion}) is still in the cart`,
          );
        }
      }
      if (
        !payment ||
        payment.capturedCents !== c.totalCents ||
        bank.captures !== 1 ||
        bank.captured !== c.totalCents
      ) {
        fail(
          'completed-checkout',
          `${what}: ${bank.captures} capture(s) of ${bank.captured} cents at the provider, payment ${payment?.status} with ${payment?.capturedCents} captured, for a total of ${c.totalCents}`,
        );
      }
      settlementOfOrder(c, order, what);
    } else {
      if ((c.status === 'CANCELLED') !== (c.failureCode === 'checkout_cancelled') || !c.failureCode) {
        fail('checkout-ended', `${what}: status and failure code disagree`);
      }
      const netRows = (payment?.capturedCents ?? 0) - (payment?.refundedCents ?? 0);
      if (netRows !== 0 || bank.captured - bank.refunded !== 0) {
        fail(
          'no-net-charge',
          `${what} charged the shopper: ${bank.captured - bank.refunded} cents net at the provider, ${netRows} cents net in the payment row`,
        );
      }
      if (payment && ['AUTHORIZED', 'REQUIRES_CONFIRMATION', 'CAPTURED'].includes(payment.status)) {
        fail(
          'no-net-charge',
          `${what}: its payment is still ${payment.status} (${payment.amountCents} cents), never voided or refunded`,
        );
      }
      if (bank.open) {
        fail(
          'no-net-charge',
          `${what}: the provider still holds an open authorization of ${payment?.amountCents ?? '?'} cents (never voided)`,
        );
      }
      const liveOrder = orders.find((o) => o.status !== 'CANCELLED');
      if (liveOrder) fail('no-net-charge', `${what} has a live order ${liveOrder.id} (${liveOrder.status})`);
      const sold = reservations.filter((r) => r.status === 'COMMITTED');
      if (sold.length > 0) {
        const restocked = restockedOf(c, orders[0]);
        for (const r of sold) {
          const back = sum((restocked.get(r.productId) ?? []).map((m) => m.delta));
          if (back !== r.quantity) {
            fail(
              'no-net-charge',
              `${what}: ${r.quantity} units of product ${r.productId} were committed and ${back} put back`,
            );
          }
        }
      }
      for (const order of orders) settlementOfOrder(c, order, what);
    }
  }

  /** A cancelled order is refunded in full and restocked once; a live one is neither. */
  function settlementOfOrder(c: CheckoutRow, order: OrderRow, what: string): void {
    const payment = paymentOf.get(c.id);
    const bank = bankView(c.id);
    const restocked = restockedOf(c, order);
    const items = itemsOf.get(order.id) ?? [];
    if (order.status === 'CANCELLED') {
      const captured = payment?.capturedCents ?? 0;
      if (
        captured > 0 &&
        (payment?.status !== 'REFUNDED' ||
          payment.refundedCents !== captured ||
          bank.refunded !== bank.captured ||
          bank.refunds !== 1)
      ) {
        fail(
          'cancelled-order-settled',
          `order ${order.id} of ${what} is CANCELLED but its payment is ${payment?.status}, ${payment?.refundedCents} of ${captured} refunded (${bank.refunds} refund(s) of ${bank.refunded} at the provider)`,
        );
      }
      for (const item of items) {
        const rows = restocked.get(item.productId) ?? [];
        if (rows.length !== 1 || sum(rows.map((m) => m.delta)) !== item.quantity) {
          fail(
            'cancelled-order-settled',
            `order ${order.id} of ${what} is CANCELLED: product ${item.productId} x${item.quantity} restocked by ${rows.length} movement(s) of ${sum(rows.map((m) => m.delta))} units`,
          );
        }
      }
    } else {
      if ((payment?.refundedCents ?? 0) > 0 || bank.refunded > 0) {
        fail('cancelled-order-settled', `order ${order.id} of ${what} is ${order.status} but was refunded`);
      }
      if (restocked.size > 0)
        fail('cancelled-order-settled', `order ${order.id} of ${what} is ${order.status} but was restocked`);
    }
  }

  // Provider requests for checkouts that do not exist.
  for (const [checkoutId, rows] of bankOf) {
    if (!checkoutsById.has(checkoutId)) {
      fail(
        'refunds-within-captures',
        `the provider processed ${rows.length} request(s) for unknown checkout ${checkoutId}`,
      );
    }
  }

  checkAnswers();
  checkWorkflows();
  return violations;

  function checkAnswers(): void {
    const byKey = groupBy(
      journal.entries.filter((e) => e.kind === 'checkout'),
      (e) => `${e.userId}:${e.key}`,
    );
    for (const [key, answers] of byKey) {
      const row = checkoutByKey.get(key);
      const consumed = answers.some(
        (a) =>
          a.status !== 0 && a.status < 500 && !['checkout_in_progress', 'cart_empty'].includes(a.code ?? ''),
      );
      for (const a of answers) {
        const told = `${a.status}${a.code ? ` ${a.code}` : ''} for key ${a.key} of user ${a.userId}`;
        if (a.status === 0 || a.status >= 500) continue;
        if (a.code === 'checkout_in_progress' || a.code === 'cart_empty') {
          if (!consumed && row)
            fail('answers-agree', `answered ${told}, yet the key was used: ${describeCheckout(row)}`);
          if (a.code === 'checkout_in_progress') {
            const active = a.checkoutId ? checkoutsById.get(a.checkoutId) : undefined;
            if (!active || active.userId !== a.userId) {
              fail(
                'answers-agree',
                `answered ${told} naming checkout ${a.checkoutId}, which is not one of the user's`,
              );
            }
          }
          continue;
        }
        if (!row) {
          fail('answers-agree', `answered ${told} (checkout ${a.checkoutId}), but no checkout has that key`);
          continue;
        }
        const what = describeCheckout(row);
        if (a.checkoutId !== undefined && a.checkoutId !== row.id) {
          fail(
            'answers-agree',
            `answered ${told} with checkout ${a.checkoutId}, but the key's checkout is ${row.id}`,
          );
        }
        if (a.code === 'idempotency_key_reused') {
          const payment = paymentOf.get(row.id);
          if (payment && payment.paymentMethod === a.paymentToken) {
            fail('answers-agree', `answered ${told} although ${what} was paid with that very token`);
          }
          continue;
        }
        if (a.status === 201) {
          if (row.status !== 'COMPLETED' || a.orderId !== row.orderId) {
            fail(
              'answers-agree',
              `answered ${told} with order ${a.orderId}, but ${what} has order ${row.orderId}`,
            );
          }
        } else if (a.status === 202) {
          // Still running when answered: only the id must agree (checked above).
        } else if (a.status === 402) {
          if (
            row.status !== 'FAILED' ||
            row.failureCode !== 'payment_declined' ||
            (a.reason && a.reason !== row.failureReason)
          ) {
            fail('answers-agree', `answered ${told} (${a.reason}), but ${what} (${row.failureReason})`);
          }
        } else if (a.status === 409 && FAILURE_CODES_409.has(a.code ?? '')) {
          if (row.status !== 'FAILED' || row.failureCode !== a.code)
            fail('answers-agree', `answered ${told}, but ${what}`);
        } else if (a.status === 409 && a.code === 'checkout_cancelled') {
          if (row.status !== 'CANCELLED') fail('answers-agree', `answered ${told}, but ${what}`);
        } else if (a.status === 422 && a.code === 'currency_mismatch') {
          if (row.failureCode !== 'currency_mismatch') fail('answers-agree', `answered ${told}, but ${what}`);
        } else {
          fail('answers-agree', `unexpected answer ${told} about ${what}`);
        }
        if (a.checkoutStatus && a.status >= 400 && a.checkoutStatus !== row.status) {
          fail('answers-agree', `answered ${told} with checkout_status ${a.checkoutStatus}, but ${what}`);
        }
      }
    }

    const cancelAccepted = new Set<string>();
    for (const e of journal.entries) {
      if (e.kind === 'checkout-cancel') {
        if (e.status === 0 || e.status >= 500) continue;
        const row = checkoutsById.get(e.checkoutId);
        const told = `cancel of checkout ${e.checkoutId} answered ${e.status}${e.code ? ` ${e.code}` : ''}${e.bodyStatus ? ` (${e.bodyStatus})` : ''}`;
        if (!row || row.userId !== e.userId) {
          fail('answers-agree', `${told}, but the user has no such checkout`);
          continue;
        }
        if (e.status === 200 || e.status === 202) cancelAccepted.add(row.id);
        const what = describeCheckout(row);
        if (e.status === 200 && row.status !== 'CANCELLED') fail('answers-agree', `${told}, but ${what}`);
        else if (e.status === 202 && e.bodyStatus && FINAL.has(e.bodyStatus) && e.bodyStatus !== row.status) {
          fail('answers-agree', `${told}, but ${what}`);
        } else if (
          e.status === 202 &&
          (!e.bodyStatus || !FINAL.has(e.bodyStatus)) &&
          row.status !== 'CANCELLED'
        ) {
          fail('answers-agree', `${told}: the cancellation was accepted, but ${what}`);
        } else if (
          e.status === 409 &&
          (e.code !== 'checkout_not_cancellable' || row.status === 'CANCELLED')
        ) {
          fail('answers-agree', `${told}, but ${what}`);
        } else if (![200, 202, 409].includes(e.status))
          fail('answers-agree', `unexpected ${told} about ${what}`);
      }
    }
    for (const e of journal.entries) {
      if (e.kind === 'webhook') {
        if (e.status === 0 || e.status >= 500) continue;
        const row = checkoutsById.get(e.checkoutId);
        const told = `webhook ${e.event}${e.reason ? ` ${e.reason}` : ''} for checkout ${e.checkoutId} answered ${e.status}`;
        if (!row || e.status !== 200) {
          fail('answers-agree', `${told}${row ? '' : ', but there is no such checkout'}`);
          continue;
        }
        // Delivered well before the deadline, without a cancellation: the confirmation decides.
        const inTime = row.reservationExpiresAt !== null && e.at < row.reservationExpiresAt - 3_000;
        if (!inTime || cancelAccepted.has(row.id)) continue;
        const what = describeCheckout(row);
        if (e.event === 'payment.succeeded' && row.status !== 'COMPLETED') {
          fail(
            'answers-agree',
            `${told} ${Math.round((row.reservationExpiresAt as number) - e.at)} ms before the deadline, but ${what}`,
          );
        }
        if (
          e.event === 'payment.failed' &&
          (row.failureCode !== 'payment_declined' || row.failureReason !== e.reason)
        ) {
          fail('answers-agree', `${told}, but ${what} (${row.failureReason})`);
        }
      }
      if (e.kind === 'order-cancel' || e.kind === 'order-ship' || e.kind === 'order-deliver') {
        if (e.status === 0 || e.status >= 500) continue;
        const order = ordersById.get(e.orderId);
        const told = `${e.kind.replace('order-', '')} of order ${e.orderId} answered ${e.status}${e.code ? ` ${e.code}` : ''}${e.bodyStatus ? ` (${e.bodyStatus})` : ''}`;
        if (!order) {
          fail('answers-agree', `${told}, but there is no such order`);
          continue;
        }
        const now = `order ${order.id} is ${order.status}`;
        const accepted = e.status === 200 || e.status === 202;
        if (e.kind === 'order-cancel') {
          if (
            accepted &&
            (order.status !== 'CANCELLED' || (e.status === 200 && e.bodyStatus !== 'CANCELLED'))
          )
            fail('answers-agree', `${told}, but ${now}`);
          else if (
            e.status === 409 &&
            (e.code !== 'order_not_cancellable' || !['SHIPPED', 'DELIVERED'].includes(order.status))
          )
            fail('answers-agree', `${told}, but ${now}`);
          else if (!accepted && e.status !== 409) fail('answers-agree', `unexpected ${told}`);
        } else if (e.kind === 'order-ship') {
          if (accepted && !['SHIPPED', 'DELIVERED'].includes(order.status))
            fail('answers-agree', `${told}, but ${now}`);
          else if (e.status === 409 && order.status !== 'CANCELLED')
            fail('answers-agree', `${told}, but ${now}`);
          else if (!accepted && e.status !== 409) fail('answers-agree', `unexpected ${told}`);
        } else if (!accepted || order.status !== 'DELIVERED') {
          fail('answers-agree', `${told}, but ${now}`);
        }
      }
      if (e.kind === 'cart-after-completion') {
        const row = checkoutsById.get(e.checkoutId);
        const left = row?.lines.filter((line) => e.productIds.includes(line.productId)) ?? [];
        if (left.length > 0 && row) {
          fail(
            'answers-agree',
            `after the 201 of ${describeCheckout(row)}, the next cart read still showed product(s) ${left.map((l) => l.productId).join(', ')}`,
          );
        }
      }
    }
  }

  function checkWorkflows(): void {
    const status = (id: string): WorkflowState | undefined => ledger.workflows.get(id);
    for (const c of ledger.checkouts) {
      const wf = status(`checkout-${c.id}`);
      const what = describeCheckout(c);
      if (!wf || wf.status === 'NOT_FOUND')
        fail('workflows-ended', `${what}: Temporal has no workflow checkout-${c.id}`);
      else if (wf.status !== 'COMPLETED') fail('workflows-ended', `${what}: its saga is ${wf.status}`);
      else if (wf.checkoutStatus !== c.status) {
        fail(
          'workflows-ended',
          `${what}: its saga's CheckoutStatus search attribute says ${wf.checkoutStatus}`,
        );
      }
    }
    for (const order of ledger.orders) {
      const checkout = checkoutsById.get(order.checkoutId);
      const wf = status(`order-${order.id}`);
      const live = order.status === 'CONFIRMED' || order.status === 'SHIPPED';
      if (!wf || wf.status === 'NOT_FOUND') {
        if (checkout?.status === 'COMPLETED')
          fail('workflows-ended', `order ${order.id} (${order.status}) has no lifecycle workflow`);
        continue;
      }
      if (live && wf.status !== 'RUNNING')
        fail('workflows-ended', `order ${order.id} is ${order.status} but its lifecycle is ${wf.status}`);
      if (!live && wf.status !== 'COMPLETED')
        fail('workflows-ended', `order ${order.id} is ${order.status} but its lifecycle is ${wf.status}`);
      if (wf.orderStatus !== order.status) {
        fail(
          'workflows-ended',
          `order ${order.id} is ${order.status} but its OrderStatus search attribute says ${wf.orderStatus}`,
        );
      }
    }
    for (const wf of ledger.running) {
      if (HOUSEKEEPING.has(wf.type)) continue;
      if (wf.type === 'orderWorkflow') {
        const order = ordersById.get(wf.workflowId.replace(/^order-/, ''));
        if (order && (order.status === 'CONFIRMED' || order.status === 'SHIPPED')) continue;
        fail(
          'workflows-ended',
          `${wf.workflowId} is still running but its order is ${order?.status ?? 'unknown'}`,
        );
        continue;
      }
      fail('workflows-ended', `${wf.workflowId} (${wf.type}) is still running`);
    }
    for (const wf of ledger.unsuccessful) {
      fail('workflows-ended', `${wf.workflowId} (${wf.type}) closed ${wf.status}`);
    }
  }
}

/** Checkouts by final outcome (`COMPLETED`, `FAILED payment_declined`, ...). */
export function outcomes(ledger: Ledger): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const c of ledger.checkouts) {
    const label = c.status === 'FAILED' ? `FAILED ${c.failureCode}` : c.status;
    counts[label] = (counts[label] ?? 0) + 1;
  }
  return counts;
}
