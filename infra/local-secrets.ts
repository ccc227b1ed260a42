import { randomBytes } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Config } from './config.js';

export interface Secrets {
  jwtSecret: string;
  webhookSecret: string;
}

const FILE = 'secrets.json';

/** Where a data directory keeps the secrets it generated (readable by its owner only). */
export const localSecretsFile = (dataDir: string) => join(resolve(dataDir), FILE);

/**
 * The data directory's own secrets: random, generated on first use, kept in `<dataDir>/secrets.json`
 * (mode 0600) so every process of one installation (API, `npm run token`) agrees on them. Two
 * processes creating it at once end with one file: the second link fails and it reads the first's.
 */
export function loadLocalSecrets(dataDir: string): Secrets {
  const file = localSecretsFile(dataDir);
  try {
    return parse(readFileSync(file, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  mkdirSync(resolve(dataDir), { recursive: true });
  const draft = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  const secrets = {
    jwt_secret: randomBytes(32).toString('base64url'),
    webhook_secret: `whsec_${randomBytes(24).toString('base64url')}`,
  };
  writeFileSync(draft, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  chmodSync(draft, 0o600);
  try {
    linkSync(draft, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    rmSync(draft, { force: true });
  }
  return parse(readFileSync(file, 'utf8'));
}

function parse(text: string): Secrets {
  const value = JSON.parse(text) as { jwt_secret?: unknown; webhook_secret?: unknown };
  if (typeof value.jwt_secret !== 'string' || typeof value.webhook_secret !== 'string') {
    throw new Error(`${FILE} is damaged: delete it to generate new secrets (existing tokens stop working)`);
  }
  return { jwtSecret: value.jwt_secret, webhookSecret: value.webhook_secret };
}

/** The secrets a process uses: the environment's, else (outside production) the data directory's. */
export function resolveSecrets(config: Config): Secrets {
  const { jwtSecret } = config.auth;
  const { webhookSecret } = config.payments;
  if (jwtSecret && webhookSecret) return { jwtSecret, webhookSecret };
  const local = loadLocalSecrets(config.dataDir);
  return { jwtSecret: jwtSecret ?? local.jwtSecret, webhookSecret: webhookSecret ?? local.webhookSecret };
}
