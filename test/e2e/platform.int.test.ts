import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authSuite } from './auth.suite.js';
import { cartSuite } from './cart.suite.js';
import { catalogSuite } from './catalog.suite.js';
import { checkoutSuite } from './checkout.suite.js';
import { gatewayFlowSuite } from './gateway-flow.suite.js';
import { CODES_NOT_PROVOKED, CONTRACT_ERROR_CODES, CONTRACT_ROUTES, type E2E, startE2E } from './harness.js';
import { operationsSuite } from './operations.suite.js';
import { operatorSuite } from './operator.suite.js';
import { ordersSuite } from './orders.suite.js';

/**
 * The black-box end-to-end suite: the platform started exactly as `npm start` starts it (a child
 * process with a fresh data directory and free ports), driven over real HTTP and the official
 * `temporal` CLI only. Everything is left at its default but the reservation lifetime, which is
 * short so that an unconfirmed 3-D Secure payment expires within the test.
 */
const RESERVATION_TTL_MS = 8_000;

let platform: E2E | undefined;
const e2e = (): E2E => {
  if (!platform) throw new Error('the platform did not start');
  return platform;
};

describe('the platform over HTTP, as npm start runs it', () => {
  beforeAll(async () => {
    platform = await startE2E({ RESERVATION_TTL: `${RESERVATION_TTL_MS}ms` });
  }, 180_000);

  afterAll(async () => {
    await platform?.platform.destroy();
  }, 60_000);

  catalogSuite(e2e);
  authSuite(e2e);
  cartSuite(e2e);
  checkoutSuite(e2e, { reservationTtlMs: RESERVATION_TTL_MS });
  ordersSuite(e2e);
  gatewayFlowSuite(e2e);
  operatorSuite(e2e);
  operationsSuite(e2e);

  describe('coverage of the contract', () => {
    it('called every route of API.md', () => {
      const missed = CONTRACT_ROUTES.filter((route) => !e2e().coverage.routes.has(route));
      expect(missed).toEqual([]);
    });

    it('saw every error code of API.md, and never an internal error', () => {
      const seen = e2e().coverage.codes;
      const missed = CONTRACT_ERROR_CODES.filter(
        (code) => !CODES_NOT_PROVOKED.includes(code) && !seen.has(code),
      );
      expect(missed).toEqual([]);
      expect(seen.get('internal_error')).toBeUndefined();
    });
  });
});
