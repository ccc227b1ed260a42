// The workflow bundle's entry point: every workflow the workers host.
export { purgeIdleCartsWorkflow, releaseExpiredReservationsWorkflow } from './maintenance.workflow.js';
