import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The layers' import rules (docs/architecture.md, "Layers"), which Biome cannot express because
 * they depend on whether an import is `import type`:
 *
 * - lib/ is pure: values from lib/ itself and a few pure packages only, never I/O. Workflows
 *   replay deterministically, so they may import values only from lib/, workflows/ and the
 *   workflow SDK; from anywhere else, types only.
 * - services/ know nothing of HTTP or Temporal: no hono, no @temporalio, nothing from api/,
 *   workers/, activities/ or workflows/ (types included).
 * - activities/, workers/, infra/ and db/ never import api/, and api/ never imports workers/;
 *   lib/ and infra/ never import the layers above them.
 */

/** Packages lib/ may take values from: pure computation, no I/O, safe inside a workflow. */
const PURE_PACKAGES = ['uuid', '@temporalio/common'];
const WORKFLOW_PACKAGES = ['@temporalio/workflow', '@temporalio/common'];

interface Rule {
  /** Folder (relative to the root) whose source files the rule checks. */
  folder: string;
  /** Why an import is refused, or undefined when it is allowed. */
  refuse(specifier: string, typeOnly: boolean): string | undefined;
}

const layerOf = (specifier: string): string | undefined =>
  specifier.startsWith('.') ? /^(?:\.\.?\/)+([^/]+)\//.exec(specifier)?.[1] : undefined;
const isPackage = (specifier: string): boolean => !specifier.startsWith('.');
const packageName = (specifier: string): string =>
  specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : (specifier.split('/')[0] ?? '');

/**
 * Code that may run inside a workflow: values only from `packages` and `folders` (relative
 * imports inside the folder itself always), types from anywhere.
 */
function valuesOnlyFrom(
  folder: string,
  packages: string[],
  folders: string[],
  refusal: { pkg: (specifier: string) => string; layer: (layer: string) => string },
): Rule {
  return {
    folder,
    refuse: (specifier, typeOnly) => {
      if (typeOnly) return undefined;
      if (isPackage(specifier))
        return packages.includes(packageName(specifier)) ? undefined : refusal.pkg(specifier);
      const layer = layerOf(specifier);
      return layer && layer !== folder && !folders.includes(layer) ? refusal.layer(layer) : undefined;
    },
  };
}

const RULES: Rule[] = [
  valuesOnlyFrom('lib', PURE_PACKAGES, [], {
    pkg: (specifier) => `lib/ is pure: no values from ${specifier}`,
    layer: (layer) => `lib/ is pure: nothing from ${layer}/`,
  }),
  valuesOnlyFrom('workflows', WORKFLOW_PACKAGES, ['lib'], {
    pkg: (specifier) => `workflows take no values from ${specifier}`,
    layer: (layer) => `workflows take values only from lib/ and workflows/, not ${layer}/`,
  }),
  {
    folder: 'services',
    refuse: (specifier) => {
      const name = packageName(specifier);
      if (
        isPackage(specifier) &&
        (name === 'hono' || name.startsWith('@hono/') || name.startsWith('@temporalio/'))
      )
        return `services know nothing of HTTP or Temporal: ${specifier}`;
      const layer = layerOf(specifier);
      return layer && ['api', 'workers', 'activities', 'workflows', 'scripts', 'bench'].includes(layer)
        ? `services do not import ${layer}/`
        : undefined;
    },
  },
  ...['activities', 'workers', 'infra', 'db'].map(
    (folder): Rule => ({
      folder,
      refuse: (specifier) => (layerOf(specifier) === 'api' ? `${folder}/ does not import api/` : undefined),
    }),
  ),
  {
    folder: 'api',
    refuse: (specifier) =>
      ['workers', 'scripts', 'bench'].includes(layerOf(specifier) ?? '')
        ? `api/ does not import ${layerOf(specifier)}/`
        : undefined,
  },
  {
    folder: 'infra',
    refuse: (specifier) => {
      const layer = layerOf(specifier);
      return layer && ['services', 'workers', 'activities', 'workflows', 'scripts', 'bench'].includes(layer)
        ? `infra/ does not import ${layer}/`
        : undefined;
    },
  },
];

function* sourceFiles(dir: string): Generator<string> {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(path);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) yield path;
  }
}

const IMPORT = /^(?:import|export)\s+(type\s+)?(?:[^;'"]*?\s+from\s+)?['"]([^'"]+)['"];?$/gm;

/** Every import under `root` that breaks a rule, as `file: reason (statement)`. */
export function fenceViolations(root: string): string[] {
  const violations: string[] = [];
  for (const rule of RULES) {
    for (const file of sourceFiles(join(root, rule.folder))) {
      for (const match of joinStatements(readFileSync(file, 'utf8')).matchAll(IMPORT)) {
        const [statement, typeKeyword, specifier = ''] = match;
        const reason = rule.refuse(specifier, typeKeyword !== undefined);
        if (reason) violations.push(`${relative(root, file)}: ${reason} (${statement.replace(/\s+/g, ' ')})`);
      }
    }
  }
  return violations;
}

/** Import statements spread over several lines, each put on one line. */
function joinStatements(text: string): string {
  return text.replace(/^(import|export)\b[^;]*?;/gms, (statement) => statement.replace(/\s+/g, ' '));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const violations = fenceViolations(fileURLToPath(new URL('..', import.meta.url)));
  if (violations.length > 0) {
    console.error(`Import fences (scripts/check-fences.ts) broken:\n${violations.join('\n')}`);
    process.exit(1);
  }
}
