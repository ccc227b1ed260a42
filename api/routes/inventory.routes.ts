// STUB: to be implemented (issue 3).
import type { InventoryService } from '../../services/inventory/inventory.service.js';
import type { Router } from '../route.js';

export function registerInventoryRoutes(_router: Router, _deps: { inventory: InventoryService }): void {}
