// STUB: to be implemented (issue 4).
import type { CartService } from '../../services/cart/cart.service.js';
import type { Router } from '../route.js';

export function registerCartRoutes(_router: Router, _deps: { cart: CartService }): void {}
