import { SignJWT } from 'jose';

export interface TokenClaims {
  userId: number;
  admin?: boolean;
  /** Lifetime in seconds; negative values mint an already expired token (for tests). */
  expiresInSeconds?: number;
}

/** Mints an HS256 token in the shape the original gateway's tokengen produced, plus `role`. */
export async function signToken(secret: string, claims: TokenClaims): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ user_id: claims.userId, ...(claims.admin ? { role: 'admin' } : {}) })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer('ecommerce-platform')
    .setIssuedAt(now)
    .setExpirationTime(now + (claims.expiresInSeconds ?? 24 * 3600))
    .sign(new TextEncoder().encode(secret));
}
