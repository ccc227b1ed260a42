import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../../lib/search-attributes.js';
import {
  findExecutable,
  freePort,
  type Log,
  type ManagedProcess,
  spawnManaged,
  waitUntil,
} from './process.js';

const run = promisify(execFile);

/** The newest CLI tag that `go install` can build (later tags carry replace directives). */
export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';

/**
 * Locates the official Temporal CLI: `TEMPORAL_CLI_PATH`, then `temporal` on PATH, then
 * Go's bin directory. When none is found and Go is installed, builds it with `go install`.
 */
export async function findOrInstallTemporalCli(options: {
  cliPath?: string | undefined;
  log: Log;
}): Promise<string> {
  if (options.cliPath) {
    const explicit = await findExecutable([options.cliPath]);
    if (!explicit) throw new Error(`TEMPORAL_CLI_PATH=${options.cliPath} is not an executable file`);
    return explicit;
  }
  const goBin = join(
    process.env.GOBIN ?? join(process.env.GOPATH ?? join(homedir(), 'go'), 'bin'),
    'temporal',
  );
  const found = await findExecutable(['temporal', goBin]);
  if (found) return found;

  const go = await findExecutable(['go', '/usr/local/go/bin/go', '/usr/lib/go/bin/go']);
  if (!go) {
    throw new Error(
      [
        'The Temporal CLI was not found (looked at TEMPORAL_CLI_PATH, PATH and ~/go/bin) and Go is not installed to build it.',
        'Install it with one of:',
        `  go install ${TEMPORAL_CLI_MODULE}`,
        '  brew install temporal',
        '  the official release archive from the Temporal documentation, put on PATH',
        'or point TEMPORAL_CLI_PATH at the binary, or TEMPORAL_ADDRESS at a running Temporal server.',
      ].join('\n'),
    );
  }
  options.log(
    `Building the Temporal CLI with "go install ${TEMPORAL_CLI_MODULE}" (first run only, a few minutes)...`,
  );
  const { stdout } = await run(go, ['env', 'GOBIN', 'GOPATH']);
  const [gobin, gopath] = stdout.split('\n').map((line) => line.trim());
  const binDir = gobin || join(gopath || join(homedir(), 'go'), 'bin');
  try {
    await run(go, ['install', TEMPORAL_CLI_MODULE], {
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, CGO_ENABLED: '0' },
    });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? String(error);
    throw new Error(`go install ${TEMPORAL_CLI_MODULE} failed:\n${stderr.slice(-4000)}`);
  }
  const built = join(binDir, 'temporal');
  if (!(await findExecutable([built]))) throw new Error(`go install finished but ${built} is missing`);
  options.log(`Temporal CLI installed at ${built}`);
  return built;
}

export interface TemporalDevServerOptions {
  cliPath: string;
  /** Directory for the process log and pid file. */
  runDir: string;
  /** SQLite file that keeps workflow history across restarts; omit for an in-memory server. */
  dbFile?: string;
  /** Preferred gRPC port; another free one is used when it is taken, unless `strictPorts`. */
  port?: number;
  /** Port of the Web UI; `false` runs headless. */
  uiPort?: number | false;
  /** Fail rather than move when `port` or `uiPort` is taken (a restart keeps the address clients know). */
  strictPorts?: boolean;
  namespace?: string;
  log: Log;
}

export interface TemporalDevServer {
  address: string;
  port: number;
  uiUrl: string | undefined;
  uiPort: number | undefined;
  process: ManagedProcess;
  stop(): Promise<void>;
}

/**
 * Starts `temporal server start-dev` with the project's search attributes registered and
 * waits until its frontend answers. Ports default to free ones.
 */
export async function startTemporalDevServer(options: TemporalDevServerOptions): Promise<TemporalDevServer> {
  // A port picked as free can be taken by another process before the server binds it (the dev
  // server also opens ports of its own): when the ports were ours to choose, try again on new ones.
  const attempts = options.port === undefined ? 3 : 1;
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options);
    } catch (error) {
      if (attempt >= attempts) throw error;
      options.log(`Temporal dev server did not start (attempt ${attempt}); retrying on other ports`);
    }
  }
}

async function startOnce(options: TemporalDevServerOptions): Promise<TemporalDevServer> {
  const strict = { strict: options.strictPorts };
  const port = await freePort(options.port ?? 0, strict);
  const uiPort = options.uiPort === false ? undefined : await freePort(options.uiPort ?? 0, strict);
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--log-level', 'warn'];
  if (uiPort === undefined) args.push('--headless');
  else args.push('--ui-port', String(uiPort));
  if (options.dbFile) {
    mkdirSync(dirname(options.dbFile), { recursive: true });
    args.push('--db-filename', options.dbFile);
  }
  if (options.namespace && options.namespace !== 'default') args.push('--namespace', options.namespace);
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES))
    args.push('--search-attribute', `${name}=${type}`);

  const child = spawnManaged('temporal', options.cliPath, args, { runDir: options.runDir });
  const address = `127.0.0.1:${port}`;
  try {
    await waitUntil('Temporal dev server', () => temporalIsServing(address, options.namespace ?? 'default'), {
      timeoutMs: 90_000,
      process: child,
      intervalMs: 300,
    });
  } catch (error) {
    await child.stop('SIGKILL', 5_000).catch(() => {});
    throw error;
  }
  return {
    address,
    port,
    uiUrl: uiPort === undefined ? undefined : `http://localhost:${uiPort}`,
    uiPort,
    process: child,
    stop: () => child.stop('SIGTERM', 20_000),
  };
}

/** True when the frontend at `address` answers and knows `namespace`. */
export async function temporalIsServing(address: string, namespace: string): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address, connectTimeout: 1_000 });
    await connection.workflowService.describeNamespace({ namespace });
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => {});
  }
}
