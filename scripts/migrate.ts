import { createDatabase } from '../db/client.js';
import { runMigrations } from '../db/migrate.js';
import { seedDatabase } from '../db/seed.js';
import { ConfigError, loadConfig } from '../infra/config.js';

/** `npm run db:migrate [-- --seed]`: applies committed migrations (and the seed) to DATABASE_URL. */
const config = loadConfig();
if (!config.database.url) {
  console.error(new ConfigError(['DATABASE_URL: required']).message);
  process.exit(2);
}
await runMigrations(config.database.url);
console.log('migrations applied');
if (process.argv.includes('--seed')) {
  const database = createDatabase(config.database.url, { max: 1 });
  await seedDatabase(database.db);
  await database.close();
  console.log('seed loaded');
}
