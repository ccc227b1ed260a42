import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig, ORIGINAL_GATEWAY_JWT_SECRET } from './config.js';
import { loadLocalSecrets, localSecretsFile, resolveSecrets } from './local-secrets.js';

const dirs: string[] = [];
const newDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'commerce-secrets-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('local secrets', () => {
  it('are generated once per data directory, random, and readable by the owner only', () => {
    const dir = newDir();
    const first = loadLocalSecrets(dir);
    expect(loadLocalSecrets(dir)).toEqual(first);
    expect(first.jwtSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(first.jwtSecret).not.toBe(ORIGINAL_GATEWAY_JWT_SECRET);
    expect(loadLocalSecrets(newDir())).not.toEqual(first);
    expect(statSync(localSecretsFile(dir)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(localSecretsFile(dir), 'utf8'))).toEqual({
      jwt_secret: first.jwtSecret,
      webhook_secret: first.webhookSecret,
    });
  });

  it('give way to the environment, secret by secret', () => {
    const dir = newDir();
    const local = loadLocalSecrets(dir);
    const explicit = 'an-operator-chosen-secret';
    expect(resolveSecrets(loadConfig({ DATA_DIR: dir, JWT_SECRET: explicit }))).toEqual({
      jwtSecret: explicit,
      webhookSecret: local.webhookSecret,
    });
    expect(resolveSecrets(loadConfig({ DATA_DIR: dir }))).toEqual(local);
  });
});
