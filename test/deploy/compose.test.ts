import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ORIGINAL_GATEWAY_JWT_SECRET } from '../../infra/config.js';

/** docker-compose.yml cannot run here (no Docker engine); this reads it as compose would. */
const FILE = fileURLToPath(new URL('../../docker-compose.yml', import.meta.url));
const text = readFileSync(FILE, 'utf8');
const compose = parse(text, { merge: true }) as {
  'x-app-env': Record<string, string>;
  services: Record<string, { ports?: string[]; environment?: Record<string, string>; command?: string[] }>;
};

describe('docker-compose.yml is safe by default', () => {
  it('publishes only the API beyond the host; Postgres, Redis, Temporal and its UI on loopback', () => {
    const published = Object.entries(compose.services).flatMap(([name, service]) =>
      (service.ports ?? []).map((port) => [name, port] as const),
    );
    expect(published.length).toBeGreaterThan(0);
    for (const [name, port] of published) {
      if (name === 'api') expect(port).toBe('8080:8080');
      else expect(port, `${name} publishes ${port}`).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
    }
    for (const name of ['postgres', 'redis', 'temporal', 'temporal-ui', 'jaeger']) {
      expect(compose.services[name]).toBeDefined();
    }
  });

  it("sends every role's traces to the Jaeger it runs", () => {
    expect(compose['x-app-env'].OTEL_EXPORTER_OTLP_ENDPOINT).toBe('http://jaeger:4318');
    expect(compose.services.jaeger?.environment?.COLLECTOR_OTLP_ENABLED).toBe('true');
  });

  it('requires the secrets instead of defaulting them, and never ships the published one', () => {
    const env = compose['x-app-env'];
    expect(env.JWT_SECRET).toMatch(/^\$\{JWT_SECRET:\?.+\}$/);
    expect(env.PAYMENT_WEBHOOK_SECRET).toMatch(/^\$\{PAYMENT_WEBHOOK_SECRET:\?.+\}$/);
    expect(text).not.toContain(ORIGINAL_GATEWAY_JWT_SECRET);
    expect(env.NODE_ENV).toBe('${NODE_ENV:-production}');
  });

  it('lets the API container listen for its published port, and the other roles get the same settings', () => {
    expect(compose.services.api?.environment?.HTTP_HOST).toBe('0.0.0.0');
    for (const role of ['api', 'worker', 'migrate']) {
      expect(compose.services[role]?.environment).toMatchObject({
        JWT_SECRET: compose['x-app-env'].JWT_SECRET,
      });
    }
  });
});
