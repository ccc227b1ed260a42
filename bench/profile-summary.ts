import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

/**
 * Summarises a V8 CPU profile (`npm run bench -- --profile <dir>` writes them) by where the time
 * went: self time per package or project folder, and the heaviest functions.
 *
 *   npx tsx bench/profile-summary.ts <dir>/api/CPU.*.cpuprofile [--top 25] [--last 5]
 *
 * `--last N` counts only the final N seconds of the profile: with `--only <scenario>` the bench's
 * last load runs, without the start-up before them. Shares are of the time the process was busy:
 * its idle time (while the bench loads the baseline, or waits) is reported apart.
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '25' }, last: { type: 'string' } },
});
const file = positionals[0];
if (!file) {
  console.error('usage: tsx bench/profile-summary.ts <file.cpuprofile> [--top N]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));

// Self time per node: each sample's delta belongs to the node it landed in.
const selfUs = new Map<number, number>();
const sampledAt: number[] = [];
let clock = profile.startTime;
for (const delta of profile.timeDeltas) {
  clock += delta;
  sampledAt.push(clock);
}
const since = values.last ? profile.endTime - Number(values.last) * 1e6 : Number.NEGATIVE_INFINITY;
let idleUs = 0;
profile.samples.forEach((id, index) => {
  if ((sampledAt[index] ?? 0) < since) return;
  const us = profile.timeDeltas[index] ?? 0;
  if (byId.get(id)?.callFrame.functionName === '(idle)') idleUs += us;
  else selfUs.set(id, (selfUs.get(id) ?? 0) + us);
});
const totalUs = [...selfUs.values()].reduce((sum, us) => sum + us, 0);

/** `node_modules/<package>`, a project folder, node's internals, or V8's own (GC, idle, program). */
function placeOf(node: ProfileNode): string {
  const { url, functionName } = node.callFrame;
  if (!url) return `(${functionName || 'anonymous'})`;
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + 'node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
  }
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  const project = /\/(api|lib|services|db|workflows|activities|workers|scripts|bench)\/(.*)$/.exec(url);
  return project ? `${project[1]}/${project[2]}` : url;
}

const tally = (key: (node: ProfileNode) => string) => {
  const sums = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (node) sums.set(key(node), (sums.get(key(node)) ?? 0) + us);
  }
  return [...sums].sort((a, b) => b[1] - a[1]);
};
const top = Number(values.top);
const pct = (us: number) => `${((100 * us) / totalUs).toFixed(1)}%`.padStart(6);

process.stdout.on('error', () => process.exit(0)); // piped into head
const seconds = (us: number) => `${(us / 1e6).toFixed(2)} s`;
console.log(
  `${file}: ${seconds(totalUs + idleUs)} sampled, ${seconds(totalUs)} busy, ${seconds(idleUs)} idle; shares of the busy time\n\nSelf time by place:`,
);
for (const [place, us] of tally(placeOf).slice(0, top)) console.log(`${pct(us)}  ${place}`);
console.log('\nSelf time by function:');
for (const [fn, us] of tally(
  (node) =>
    `${node.callFrame.functionName || '(anonymous)'}  ${placeOf(node)}:${node.callFrame.lineNumber + 1}`,
).slice(0, top))
  console.log(`${pct(us)}  ${fn}`);
