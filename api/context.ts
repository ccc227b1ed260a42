export interface AuthUser {
  id: number;
  admin: boolean;
}

/** Typed context variables every handler can read. */
export interface AppEnv {
  Variables: {
    requestId: string;
    user: AuthUser | undefined;
  };
}
