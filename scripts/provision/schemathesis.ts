import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { findExecutable, type Log } from './process.js';

const run = promisify(execFile);

/** Every Python package of the contract tooling, pinned; the schemathesis version is read from it. */
export const SCHEMATHESIS_REQUIREMENTS = join(
  dirname(fileURLToPath(import.meta.url)),
  'schemathesis.requirements.txt',
);

export interface SchemathesisTools {
  /** The `schemathesis` executable. */
  schemathesis: string;
  /** The `openapi-spec-validator` executable installed beside it. */
  specValidator: string;
  version: string;
}

async function pinnedVersion(): Promise<string> {
  const text = await readFile(SCHEMATHESIS_REQUIREMENTS, 'utf8');
  const version = /^schemathesis==(\S+)$/m.exec(text)?.[1];
  if (!version) throw new Error(`${SCHEMATHESIS_REQUIREMENTS} does not pin schemathesis`);
  return version;
}

async function requirementsDigest(): Promise<string> {
  return createHash('sha256')
    .update(await readFile(SCHEMATHESIS_REQUIREMENTS))
    .digest('hex');
}

/** The tools in `binDir`, when both are there and schemathesis is the pinned version. */
async function toolsIn(binDir: string, version: string): Promise<SchemathesisTools | undefined> {
  const schemathesis = await findExecutable([join(binDir, 'schemathesis')]);
  const specValidator = await findExecutable([join(binDir, 'openapi-spec-validator')]);
  if (!schemathesis || !specValidator) return undefined;
  try {
    const { stdout } = await run(schemathesis, ['--version'], { timeout: 60_000 });
    return stdout.trim().endsWith(` ${version}`) ? { schemathesis, specValidator, version } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Locates schemathesis (the property-based OpenAPI contract tester) and openapi-spec-validator at
 * the pinned versions: the project's venv in `venvDir` when it was built from the current
 * requirements, else a `schemathesis` on PATH with `openapi-spec-validator` beside it. When none
 * fits, builds the venv with `python3 -m venv` and pip from the pinned requirements.
 */
export async function findOrInstallSchemathesis(options: {
  /** Where the project keeps its own venv, e.g. `<repo>/.data/tools/schemathesis-venv`. */
  venvDir: string;
  log: Log;
}): Promise<SchemathesisTools> {
  const version = await pinnedVersion();
  const digest = await requirementsDigest();
  const stampFile = join(options.venvDir, 'requirements.sha256');
  const venvBin = join(options.venvDir, 'bin');
  const stamp = await readFile(stampFile, 'utf8').catch(() => '');
  if (stamp.trim() === digest) {
    const tools = await toolsIn(venvBin, version);
    if (tools) return tools;
  }
  const onPath = await findExecutable(['schemathesis']);
  if (onPath && dirname(onPath) !== venvBin) {
    const tools = await toolsIn(dirname(onPath), version);
    if (tools) return tools;
  }

  const python = await findExecutable(['python3', '/usr/bin/python3', '/usr/local/bin/python3']);
  if (!python) {
    throw new Error(
      `schemathesis ${version} is needed for the contract test and python3 (3.10 or later) was not found to install it. Install python3 with its venv module (Debian: apt-get install python3-venv), or put schemathesis ${version} and openapi-spec-validator on PATH (pip install -r ${SCHEMATHESIS_REQUIREMENTS}).`,
    );
  }
  options.log(`Installing schemathesis ${version} into ${options.venvDir} (first run only)...`);
  await rm(options.venvDir, { recursive: true, force: true });
  try {
    await run(python, ['-m', 'venv', options.venvDir], { timeout: 120_000 });
  } catch (error) {
    throw new Error(
      `${python} -m venv ${options.venvDir} failed (Debian and Ubuntu need the python3-venv package):\n${stderrOf(error)}`,
      { cause: error },
    );
  }
  try {
    await run(
      join(venvBin, 'python'),
      [
        '-m',
        'pip',
        'install',
        '--disable-pip-version-check',
        '--no-input',
        '-q',
        '-r',
        SCHEMATHESIS_REQUIREMENTS,
      ],
      { timeout: 600_000, maxBuffer: 16 * 1024 * 1024 },
    );
  } catch (error) {
    throw new Error(`pip install -r ${SCHEMATHESIS_REQUIREMENTS} failed:\n${stderrOf(error)}`, {
      cause: error,
    });
  }
  const tools = await toolsIn(venvBin, version);
  if (!tools) throw new Error(`pip finished but schemathesis ${version} is not usable in ${venvBin}`);
  await writeFile(stampFile, `${digest}\n`);
  options.log(`schemathesis ${version} installed at ${tools.schemathesis}`);
  return tools;
}

function stderrOf(error: unknown): string {
  return ((error as { stderr?: string }).stderr || String(error)).slice(-4000);
}

/** `tsx scripts/provision/schemathesis.ts`: provisions the project's venv ahead of the tests (CI). */
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  findOrInstallSchemathesis({
    venvDir: join(repo, '.data', 'tools', 'schemathesis-venv'),
    log: (message) => console.log(`[schemathesis] ${message}`),
  }).then(
    (tools) => console.log(`[schemathesis] ${tools.version} at ${tools.schemathesis}`),
    (error: unknown) => {
      console.error(`[schemathesis] ${(error as Error).message}`);
      process.exitCode = 1;
    },
  );
}
