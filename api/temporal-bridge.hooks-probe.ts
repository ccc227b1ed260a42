import { executionAsyncId } from 'node:async_hooks';
import { createLogger } from '../infra/logger.js';
import { connectTemporalInProcess, startTemporalThread } from './temporal-bridge.js';

/**
 * For api/temporal-bridge.int.test.ts: makes Temporal calls through the thread or in-process and
 * prints whether promise hooks were on in this thread before and after (`executionAsyncId()` after
 * an await is 0 while they are off).
 */
const [mode, address = 'localhost:7233'] = process.argv.slice(2);
const hooks = async () => {
  await null;
  return executionAsyncId();
};
const before = await hooks();
const options = {
  address,
  namespace: 'default',
  taskQueuePrefix: 'hooks-probe',
  logger: createLogger({ level: 'silent' }),
};
const temporal = mode === 'thread' ? startTemporalThread(options) : await connectTemporalInProcess(options);
await temporal.probe.check();
await temporal.saga.status('00000000-0000-4000-8000-000000000000');
const after = await hooks();
await temporal.close();
console.log(JSON.stringify({ before, after }));
process.exit(0);
