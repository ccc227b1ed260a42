import type { Logger } from '../infra/logger.js';

export interface AuthUser {
  id: number;
  admin: boolean;
}

/** Typed context variables every handler can read. */
export interface AppEnv {
  Variables: {
    requestId: string;
    logger: Logger;
    user: AuthUser | undefined;
  };
}
