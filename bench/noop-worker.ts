import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createNoopActivities } from './noop.activities.js';

/**
 * The baseline's worker, in its own process like the platform's: `noopCheckoutWorkflow` and its
 * activities on one task queue. Args: Temporal address, task queue. Prints "ready" once polling.
 */
const [address = '127.0.0.1:7233', taskQueue = 'bench-noop'] = process.argv.slice(2);
Runtime.install({ logger: new DefaultLogger('WARN') });
const connection = await NativeConnection.connect({ address });
const worker = await Worker.create({
  connection,
  taskQueue,
  workflowBundle: await bundleWorkflowCode({
    workflowsPath: fileURLToPath(new URL('./noop.workflow.ts', import.meta.url)),
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} },
  }),
  activities: createNoopActivities(),
});
console.log('ready');
await worker.run();
await connection.close();
