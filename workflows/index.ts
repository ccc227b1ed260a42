// The workflow bundle's entry point: every workflow the workers host.
export { checkoutWorkflow } from './checkout.workflow.js';
export { purgeIdleCartsWorkflow, releaseExpiredReservationsWorkflow } from './maintenance.workflow.js';
export { orderWorkflow } from './order.workflow.js';
