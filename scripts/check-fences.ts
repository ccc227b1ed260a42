import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Workflows must stay deterministic: they may import only types from activities and services,
 * and values only from lib/ and other workflow files. Biome cannot tell `import type` apart,
 * so this check does.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FORBIDDEN_VALUE_IMPORT =
  /^import\s+(?!type\b)[^;]*?from\s+['"](\.\.\/)+(activities|services|db|api|workers|scripts)\//m;

function* files(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) yield path;
  }
}

const offenders: string[] = [];
for (const file of files(join(ROOT, 'workflows'))) {
  const text = readFileSync(file, 'utf8');
  for (const statement of text.match(/^import[\s\S]*?;$/gm) ?? []) {
    if (FORBIDDEN_VALUE_IMPORT.test(statement))
      offenders.push(`${relative(ROOT, file)}: ${statement.replace(/\s+/g, ' ')}`);
  }
}
if (offenders.length > 0) {
  console.error(`Workflows may import only types from activities/services/db/api:\n${offenders.join('\n')}`);
  process.exit(1);
}
