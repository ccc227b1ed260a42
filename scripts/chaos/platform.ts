import { setTimeout as sleep } from 'node:timers/promises';
import {
  ApiClient,
  type BannerFacts,
  eventually,
  mintToken,
  type PlatformSecrets,
  readBanner,
  readPlatformSecrets,
} from '../../test/support/black-box.js';
import { holdPort, type NpmStart, startNpmStart } from '../../test/support/npm-start.js';
import type { Fault, FaultKind } from './journal.js';

export interface Platform {
  npmStart: NpmStart;
  api: ApiClient;
  banner: BannerFacts;
  secrets: PlatformSecrets;
  token(userId: number, admin?: boolean): Promise<string>;
  /** 200 from /ready within `timeoutMs`; false otherwise. */
  awaitReady(timeoutMs: number): Promise<boolean>;
  inject(kind: FaultKind, downMs: number): Promise<Fault>;
  stop(): Promise<void>;
}

/**
 * `npm start` in its own process group with a fresh data directory, configured as a load test
 * would (rate limits off, a short reservation lifetime so unconfirmed 3-D Secure payments end
 * within the run).
 */
export async function startPlatform(
  env: Record<string, string>,
  log: (line: string) => void,
): Promise<Platform> {
  const npmStart = await startNpmStart({ WORKER_METRICS_PORT: '0', LOG_LEVEL: 'error', ...env });
  const awaitReady = async (timeoutMs: number) => {
    try {
      await eventually(
        '/ready',
        async () => {
          const answer = await fetch(`${npmStart.baseUrl}/ready`, { signal: AbortSignal.timeout(3_000) });
          return answer.status === 200 ? true : undefined;
        },
        { timeoutMs, intervalMs: 250 },
      );
      return true;
    } catch {
      return false;
    }
  };
  try {
    await eventually(
      'the start banner',
      () => (npmStart.output().includes('The platform is up:') ? true : undefined),
      {
        timeoutMs: 180_000,
        intervalMs: 250,
      },
    );
    if (!(await awaitReady(60_000))) throw new Error('the platform never became ready');
  } catch (error) {
    const output = npmStart.output().slice(-4_000);
    await npmStart.destroy();
    throw new Error(`${(error as Error).message}\n--- npm start output ---\n${output}`);
  }
  const banner = readBanner(npmStart.output());
  const secrets = readPlatformSecrets(npmStart.dataDir);
  log(`platform up: API ${npmStart.baseUrl}, Temporal ${banner.temporalAddress}, ${banner.databaseUrl}`);

  const ports: Record<Exclude<FaultKind, 'worker' | 'api'>, number> = {
    postgres: Number(new URL(banner.databaseUrl).port),
    redis: banner.redisUrl ? Number(new URL(banner.redisUrl).port) : 0,
    temporal: npmStart.temporalPort,
  };

  /** Waits for the supervisor to report a new pid for `name`. */
  const restarted = (name: string, before: number | undefined) =>
    eventually(
      `${name} to be restarted`,
      () => {
        const now = npmStart.pid(name);
        return now !== undefined && now !== before ? now : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 100 },
    ).catch(() => undefined);

  return {
    npmStart,
    api: new ApiClient(npmStart.baseUrl, { timeoutMs: 45_000 }),
    banner,
    secrets,
    token: (userId, admin = false) => mintToken(secrets.jwtSecret, { userId, admin }),
    awaitReady,
    async inject(kind, downMs) {
      const oldPid = npmStart.pid(kind);
      const at = Date.now();
      if (oldPid === undefined) throw new Error(`npm start reported no ${kind} pid`);
      if (kind === 'worker' || kind === 'api') {
        process.kill(oldPid, 'SIGKILL');
        downMs = 0;
      } else {
        if (kind === 'redis' && !ports.redis)
          throw new Error('npm start runs no Redis (redis-server missing)');
        // The postmaster alone, as an OOM killer would; the dev servers with their process group.
        if (kind === 'postgres') process.kill(oldPid, 'SIGKILL');
        else process.kill(-oldPid, 'SIGKILL');
        // Keep it away for a while: the supervisor finds its port taken and retries.
        const held = await holdPort(ports[kind], { timeoutMs: 15_000 });
        await sleep(downMs);
        await held.release();
      }
      const newPid = await restarted(kind, oldPid);
      const ready = await awaitReady(120_000);
      return { kind, at, downMs, recoveredMs: ready ? Date.now() - at : undefined, oldPid, newPid };
    },
    stop: () => npmStart.destroy(),
  };
}
