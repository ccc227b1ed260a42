import type { RunnerTestSuite } from 'vitest';
import { afterAll, beforeAll, describe, expect } from 'vitest';
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

  catalogSuite(e2e);
  authSuite(e2e);
  cartSuite(e2e);
  checkoutSuite(e2e, { reservationTtlMs: RESERVATION_TTL_MS });
  ordersSuite(e2e);
  gatewayFlowSuite(e2e);
  operatorSuite(e2e);
  operationsSuite(e2e);

  // The contract's coverage is a property of the whole file's run, checked after it (then the
  // platform is stopped): when only some tests run (`vitest -t`, `npm run test:alone`), there is
  // nothing to check.
  // biome-ignore lint/correctness/noEmptyPattern: Vitest gives the suite second, after a destructured fixture context.
  afterAll(async ({}, suite) => {
    try {
      if (everyTestRan(suite)) expectContractCovered(e2e());
    } finally {
      await platform?.platform.destroy();
    }
  }, 60_000);
});

/** True when no test under `suite` was filtered out or skipped. */
function everyTestRan(suite: Pick<RunnerTestSuite, 'tasks'>): boolean {
  return suite.tasks.every((task) =>
    task.type === 'suite' ? everyTestRan(task) : task.mode === 'run' && task.result?.state === 'pass',
  );
}

function expectContractCovered({ coverage }: E2E): void {
  const missedRoutes = CONTRACT_ROUTES.filter((route) => !coverage.routes.has(route));
  expect(missedRoutes, 'routes of API.md no test called').toEqual([]);
  const missedCodes = CONTRACT_ERROR_CODES.filter(
    (code) => !CODES_NOT_PROVOKED.includes(code) && !coverage.codes.has(code),
  );
  expect(missedCodes, 'error codes of API.md no test saw').toEqual([]);
  expect(coverage.codes.get('internal_error'), 'internal errors seen').toBeUndefined();
}
