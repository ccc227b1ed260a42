import { parseArgs } from 'node:util';
import { loadConfig } from '../infra/config.js';
import { signToken } from '../infra/jwt.js';
import { resolveSecrets } from '../infra/local-secrets.js';
import { isPositiveId } from '../lib/id-checks.js';

/** npm run token -- --user 42 [--admin] [--hours 24]: prints a development bearer token. */
const { values } = parseArgs({
  options: {
    user: { type: 'string', default: '1' },
    admin: { type: 'boolean', default: false },
    hours: { type: 'string', default: '24' },
  },
});

const userId = Number(values.user);
const hours = Number(values.hours);
if (!isPositiveId(userId)) {
  console.error('--user must be a positive integer');
  process.exit(2);
}
if (!Number.isFinite(hours) || hours <= 0) {
  console.error('--hours must be a positive number');
  process.exit(2);
}
const config = loadConfig();
const maxHours = config.auth.maxAgeMs / 3_600_000;
if (hours > maxHours) {
  console.error(`--hours must be at most ${maxHours} (JWT_MAX_AGE); the API refuses longer-lived tokens`);
  process.exit(2);
}
// The secret the API uses: JWT_SECRET, else the one this data directory generated.
console.log(
  await signToken(resolveSecrets(config).jwtSecret, {
    userId,
    admin: values.admin,
    expiresInSeconds: Math.round(hours * 3600),
  }),
);
