/**
 * Runs every test alone, as `vitest run <file> -t "<its name>"` would: a fresh module and fresh
 * hooks for each test, with the rest of its file skipped. A test that passes only after an
 * earlier test of its file made some state fails here.
 *
 *   npx tsx scripts/each-test-alone.ts                      # every test of every project
 *   npx tsx scripts/each-test-alone.ts services/cart api    # only files matching these filters
 *   npx tsx scripts/each-test-alone.ts --project unit
 *
 * One Vitest instance serves the whole run, so the integration project's servers (global setup)
 * start once. Round k runs the k-th test of every file at once, each file in its own worker.
 */
import { parseArgs } from 'node:util';
import { createVitest } from 'vitest/node';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { project: { type: 'string', multiple: true } },
});

const vitest = await createVitest('test', {
  watch: false,
  reporters: [{}],
  ...(values.project ? { project: values.project } : {}),
});

interface FileTests {
  project: ReturnType<typeof vitest.getProjectByName>;
  moduleId: string;
  tests: { id: string; name: string }[];
}

let failures: string[] = [];
let ran = 0;
try {
  const collected = await vitest.collectTests(await vitest.globTestSpecifications(positionals));
  const files: FileTests[] = collected.testModules.map((module) => ({
    project: module.project,
    moduleId: module.moduleId,
    tests: [...module.children.allTests()].map((test) => ({ id: test.id, name: test.fullName })),
  }));
  const total = files.reduce((sum, file) => sum + file.tests.length, 0);
  console.log(`[alone] ${total} tests in ${files.length} files`);
  const rounds = Math.max(0, ...files.map((file) => file.tests.length));
  for (let round = 0; round < rounds; round++) {
    const batch = files.filter((file) => file.tests[round]);
    const specifications = batch.map((file) =>
      file.project.createSpecification(file.moduleId, { testIds: [file.tests[round]?.id ?? ''] }),
    );
    const result = await vitest.runTestSpecifications(specifications);
    for (const file of batch) {
      const expected = file.tests[round];
      const module = result.testModules.find((candidate) => candidate.moduleId === file.moduleId);
      if (!module) {
        failures.push(`${file.moduleId} > ${expected?.name ?? '?'}: no result`);
        continue;
      }
      const outcomes = [...module.children.allTests()].map((test) => ({
        id: test.id,
        state: test.result().state,
      }));
      const mine = outcomes.find((outcome) => outcome.id === expected?.id);
      const others = outcomes.filter((outcome) => outcome.id !== expected?.id && outcome.state !== 'skipped');
      const where = `${module.relativeModuleId} > ${expected?.name ?? '?'}`;
      if (mine?.state === 'passed' && others.length === 0) ran++;
      else if (!mine) failures.push(`${where}: did not run`);
      else if (others.length > 0) failures.push(`${where}: ${others.length} other tests ran too`);
      else
        failures.push(
          `${where}: ${mine.state}${module.errors().length ? ` (${module.errors()[0]?.message})` : ''}`,
        );
    }
    for (const error of result.unhandledErrors) failures.push(`unhandled: ${String(error)}`);
    console.log(
      `[alone] round ${round + 1}/${rounds}: ${batch.length} files, ${failures.length} failures so far`,
    );
  }
} catch (error) {
  failures = [...failures, `the run itself failed: ${String(error)}`];
} finally {
  await vitest.close();
}

console.log(`[alone] ${ran} tests passed alone`);
if (failures.length > 0) {
  console.error(`[alone] ${failures.length} did not:\n${failures.join('\n')}`);
  process.exit(1);
}
process.exit(0);
