import { parseArgs } from 'node:util';
import { loadConfig } from '../lib/config.js';
import { signToken } from '../lib/jwt.js';

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
if (!Number.isSafeInteger(userId) || userId <= 0) {
  console.error('--user must be a positive integer');
  process.exit(2);
}
if (!Number.isFinite(hours) || hours <= 0) {
  console.error('--hours must be a positive number');
  process.exit(2);
}
const config = loadConfig();
console.log(
  await signToken(config.auth.jwtSecret, {
    userId,
    admin: values.admin,
    expiresInSeconds: Math.round(hours * 3600),
  }),
);
