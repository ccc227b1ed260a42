import type { Context } from 'hono';
import { AppError } from '../../lib/errors.js';
import { type OrderRecord, type OrderStatus, orderJson } from '../../lib/order.js';
import { type OrdersService, transitionRefusal } from '../../services/orders/orders.service.js';
import type { AppEnv, AuthUser } from '../context.js';
import type { OrderLifecycle, OrderMove } from '../order-lifecycle.js';
import type { Router } from '../route.js';
import {
  CancelOrderBody,
  encodeOrderCursor,
  ListOrdersQuery,
  OrderIdParams,
  OrderListSchema,
  OrderSchema,
  orderResponse,
  ShipOrderBody,
} from '../schemas/order.schemas.js';

export interface OrderRouteDeps {
  orders: OrdersService;
  lifecycle: OrderLifecycle;
  /** How long a request waits for the order's workflow before answering with the stored order. */
  waitMs: number;
}

const DEFAULT_PAGE = 20;
const TARGET: Record<OrderMove, OrderStatus> = { ship: 'SHIPPED', deliver: 'DELIVERED', cancel: 'CANCELLED' };

function authenticated(user: AuthUser | undefined): AuthUser {
  if (!user) throw new Error('order route reached without an authenticated user');
  return user;
}

export function registerOrderRoutes(router: Router, deps: OrderRouteDeps): void {
  const { orders, lifecycle } = deps;

  /**
   * Moves an order through its workflow and answers the order. A lifecycle that already ended
   * answers from Postgres: the same move again is idempotent, another is refused.
   */
  async function move(
    c: Context<AppEnv>,
    order: OrderRecord,
    kind: OrderMove,
    request: { actor: string; reason?: string | undefined; tracking_number?: string | undefined },
  ): Promise<Response> {
    const result = await lifecycle.move(order, kind, request, deps.waitMs);
    if (result.kind === 'answered') return c.json(orderResponse(result.order));
    const stored = await orders.get(order.id);
    if (result.kind === 'ended' && stored.status !== TARGET[kind]) {
      const refusal = transitionRefusal(stored.status, TARGET[kind]) ?? `the order is ${stored.status}`;
      throw new AppError(kind === 'cancel' ? 'order_not_cancellable' : 'conflict', refusal);
    }
    // Still being applied when the wait ended (an outage, say): accepted, the stored order so far.
    return c.json(orderResponse(orderJson(stored)), result.kind === 'pending' ? 202 : 200);
  }

  router.route(
    {
      method: 'get',
      path: '/api/v1/orders',
      operationId: 'listOrders',
      summary: 'List my orders',
      description:
        'A JSON array, newest first (the original gateway\'s shape). The next page is in `Link: <...>; rel="next"`; pages never repeat or skip an order, also while new orders arrive.',
      tags: ['Orders'],
      access: 'user',
      query: ListOrdersQuery,
      errors: ['invalid_argument'],
      responses: {
        200: {
          description: 'Orders, newest first',
          schema: OrderListSchema,
          headers: {
            Link: { description: 'The next page: `<url>; rel="next"`', schema: { type: 'string' } },
          },
        },
      },
    },
    async (c, { user, query }) => {
      const limit = query.limit ?? DEFAULT_PAGE;
      const page = await orders.listForUser(authenticated(user).id, { limit, after: query.cursor });
      if (page.next) {
        c.header(
          'Link',
          `</api/v1/orders?limit=${limit}&cursor=${encodeOrderCursor(page.next)}>; rel="next"`,
        );
      }
      return c.json(page.orders.map((order) => orderResponse(orderJson(order))));
    },
  );

  router.route(
    {
      method: 'get',
      path: '/api/v1/orders/{order_id}',
      operationId: 'getOrder',
      summary: 'Get one of my orders',
      description: "Read from Postgres. Another user's order is reported as not found.",
      tags: ['Orders'],
      access: 'user',
      params: OrderIdParams,
      errors: ['not_found'],
      responses: { 200: { description: 'The order', schema: OrderSchema } },
    },
    async (c, { user, params }) =>
      c.json(orderResponse(orderJson(await orders.getForUser(authenticated(user).id, params.order_id)))),
  );

  router.route(
    {
      method: 'post',
      path: '/api/v1/orders/{order_id}/cancel',
      operationId: 'cancelOrder',
      summary: 'Cancel one of my orders',
      description:
        'Allowed until the order ships: the payment is refunded and the stock put back, each exactly once (done, or in progress if the answer came before). Cancelling a cancelled order answers it again. An admin may cancel any order.',
      tags: ['Orders'],
      access: 'user',
      params: OrderIdParams,
      body: CancelOrderBody,
      bodyRequired: false,
      errors: ['not_found', 'order_not_cancellable', 'service_unavailable'],
      responses: {
        200: { description: 'The cancelled order', schema: OrderSchema },
        202: {
          description: 'Accepted and still being applied; the order as stored so far',
          schema: OrderSchema,
        },
      },
    },
    async (c, { user, params, body }) => {
      const caller = authenticated(user);
      const order = caller.admin
        ? await orders.get(params.order_id)
        : await orders.getForUser(caller.id, params.order_id);
      return move(c, order, 'cancel', {
        actor: `${caller.admin ? 'admin' : 'user'}:${caller.id}`,
        reason: body.reason || undefined,
      });
    },
  );

  router.route(
    {
      method: 'post',
      path: '/api/v1/orders/{order_id}/ship',
      operationId: 'shipOrder',
      summary: 'Ship an order (admin)',
      description:
        'CONFIRMED -> SHIPPED, with an optional tracking number. Shipping again with the same tracking number answers the order again.',
      tags: ['Orders'],
      access: 'admin',
      params: OrderIdParams,
      body: ShipOrderBody,
      bodyRequired: false,
      errors: ['not_found', 'conflict', 'service_unavailable'],
      responses: {
        200: { description: 'The shipped order', schema: OrderSchema },
        202: {
          description: 'Accepted and still being applied; the order as stored so far',
          schema: OrderSchema,
        },
      },
    },
    async (c, { user, params, body }) =>
      move(c, await orders.get(params.order_id), 'ship', {
        actor: `admin:${authenticated(user).id}`,
        tracking_number: body.tracking_number,
      }),
  );

  router.route(
    {
      method: 'post',
      path: '/api/v1/orders/{order_id}/deliver',
      operationId: 'deliverOrder',
      summary: 'Mark an order delivered (admin)',
      description: "SHIPPED -> DELIVERED; the order's lifecycle then ends.",
      tags: ['Orders'],
      access: 'admin',
      params: OrderIdParams,
      errors: ['not_found', 'conflict', 'service_unavailable'],
      responses: {
        200: { description: 'The delivered order', schema: OrderSchema },
        202: {
          description: 'Accepted and still being applied; the order as stored so far',
          schema: OrderSchema,
        },
      },
    },
    async (c, { user, params }) =>
      move(c, await orders.get(params.order_id), 'deliver', { actor: `admin:${authenticated(user).id}` }),
  );
}
