import { defineConfig } from 'vitest/config';

const exclude = ['node_modules/**', '.data/**', 'dist/**'];

export default defineConfig({
  test: {
    // The summary reporter ends the output with a plain `Tests: N passed, N failed, N skipped` line.
    reporters: ['default', './test/support/summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['**/*.test.ts'],
          exclude: [...exclude, '**/*.int.test.ts'],
          pool: 'threads',
          // Projects with different worker settings run one after the other: unit first.
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'integration',
          include: ['**/*.int.test.ts'],
          exclude,
          globalSetup: ['test/global-setup.ts'],
          // Temporal workers use native threads that do not survive worker_threads; one process per file.
          pool: 'forks',
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
          testTimeout: 60_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
