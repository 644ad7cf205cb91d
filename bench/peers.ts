// Peers: Buildbot 3.7 (Debian 12 packages) measured on this machine by the ready harness in
// ../shared/peers/buildbot (setup.sh, run.sh, bench.py; method in its README.md), printed next to
// Otto's numbers from the run section, with ratios.
//
// When it runs (it takes 2–3 minutes and starts a Buildbot master and worker on 127.0.0.1):
// - `npm run bench peers` runs it. When buildbot, buildbot-worker or make are missing it installs them
//   with `apt-get install -y buildbot buildbot-worker make` (as root), and skips with the reason
//   printed when that is not possible.
// - Plain `npm run bench` includes it only when OTTO_BENCH_PEERS=1 or buildbot and buildbot-worker are
//   already installed (it never installs anything unasked otherwise), and prints which happened.
// - OTTO_BENCH_PEERS=0 skips it, named or not.
// The harness's knobs can be set in the environment; the defaults here keep it short: BB_RUNS=3,
// BB_LOG_RUNS=2, BB_FLOOR_RUNS=5, BB_QUIET_WAIT=2 (s to wait for a quiet machine before each build)
// and BB_REJECT_CORES=99: every build is kept and the CPU other processes used during it is printed
// instead, since re-running each noisy build up to 4 times on a shared machine would take far longer.
// BB_BENCH_DIR defaults to $TMPDIR/otto-bench-buildbot (not the harness's /tmp/bb-bench, which another
// session may be using); the ports default to 47591/47592, or the next free pair.
// run.sh stops the master and worker by the PIDs it started, also on errors; after it ends, this file
// checks those PIDs again (from the twistd.pid files) and stops any still alive the same way.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { fmtRate, times } from './proc.js';
import { benchRun, lastRunResults, type RunResults } from './run-bench.js';
import { fmtMs, median, printSection, type Row } from './util.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const HARNESS = process.env.OTTO_BENCH_BUILDBOT_HARNESS ?? join(ROOT, '..', 'shared', 'peers', 'buildbot');
const BENCH_DIR = process.env.BB_BENCH_DIR ?? join(tmpdir(), 'otto-bench-buildbot');
/** The harness's steps50 builder and its log builder (master.cfg.in). */
const BB_STEPS = 50;
const BB_LOG_MB = 50;

function log(line: string): void {
  process.stderr.write(`[bench peers] ${line}\n`);
}

/** dpkg says both packages are installed. */
export function buildbotInstalled(): boolean {
  const r = spawnSync('dpkg', ['-s', 'buildbot', 'buildbot-worker'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return false;
  return (r.stdout.match(/^Status: install ok installed$/gm) ?? []).length === 2;
}

function onPath(program: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' }).status === 0;
}

/** Whether plain `npm run bench` (no section named) includes the peers, and the sentence saying why. */
export function peersByDefault(): { include: boolean; reason: string } {
  const flag = process.env.OTTO_BENCH_PEERS;
  if (flag === '0') return { include: false, reason: 'peers: skipped (OTTO_BENCH_PEERS=0)' };
  if (flag === '1') return { include: true, reason: 'peers: included (OTTO_BENCH_PEERS=1)' };
  if (buildbotInstalled()) return { include: true, reason: 'peers: included (buildbot and buildbot-worker are installed; OTTO_BENCH_PEERS=0 skips)' };
  return { include: false, reason: 'peers: skipped (buildbot is not installed; `npm run bench peers` or OTTO_BENCH_PEERS=1 installs it with apt-get and runs it)' };
}

function aptGet(args: readonly string[]): { ok: boolean; tail: string } {
  const r = spawnSync('apt-get', args, { encoding: 'utf8', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, maxBuffer: 64 * 1024 * 1024 });
  const tail = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-3).join(' / ');
  return { ok: !r.error && r.status === 0, tail: r.error ? r.error.message : tail };
}

/** Installs what the harness needs if it is missing; the reason to skip when that cannot be done. */
function ensureInstalled(): string | undefined {
  if (buildbotInstalled() && onPath('make')) return undefined;
  if (!onPath('apt-get')) return 'buildbot is not installed and there is no apt-get here';
  if (process.getuid?.() !== 0) return 'buildbot is not installed and installing it with apt-get needs root';
  const packages = ['buildbot', 'buildbot-worker', 'make'];
  log(`installing ${packages.join(' ')} with apt-get (Debian packages)…`);
  let r = aptGet(['install', '-y', ...packages]);
  if (!r.ok) {
    log('apt-get install failed; running apt-get update and trying again');
    const u = aptGet(['update']);
    if (!u.ok) return `apt-get update failed: ${u.tail}`;
    r = aptGet(['install', '-y', ...packages]);
  }
  if (!r.ok) return `apt-get install ${packages.join(' ')} failed: ${r.tail}`;
  return buildbotInstalled() ? undefined : 'apt-get reported success but dpkg does not list buildbot and buildbot-worker as installed';
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** BB_PB_PORT/BB_WWW_PORT as set, else the harness's 47591/47592 or the next free pair. */
async function ports(): Promise<[number, number]> {
  if (process.env.BB_PB_PORT && process.env.BB_WWW_PORT) return [Number(process.env.BB_PB_PORT), Number(process.env.BB_WWW_PORT)];
  for (let p = 47591; p < 47691; p += 2) if ((await portFree(p)) && (await portFree(p + 1))) return [p, p + 1];
  throw new Error('no free pair of ports from 47591 to 47690');
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The live master/worker PIDs from the harness's twistd.pid files under our bench dir. */
function harnessPids(): Array<{ name: string; pid: number }> {
  const out: Array<{ name: string; pid: number }> = [];
  for (const name of ['worker', 'master']) {
    const file = join(BENCH_DIR, name, 'twistd.pid');
    if (!existsSync(file)) continue;
    const pid = Number(readFileSync(file, 'utf8').trim());
    if (Number.isInteger(pid) && pid > 1 && pidAlive(pid)) out.push({ name, pid });
  }
  return out;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** After run.sh: stops a master or worker it left alive, by its PID (SIGTERM, 30 s, then SIGKILL). */
async function stopLeftovers(): Promise<string[]> {
  const notes: string[] = [];
  for (const { name, pid } of harnessPids()) {
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      continue;
    }
    if (!/twistd|buildbot/.test(cmdline)) continue; // the pid was reused by something else
    log(`the ${name} (pid ${pid}) is still running after run.sh: stopping it`);
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 150 && pidAlive(pid); i++) await sleep(200);
    if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
    notes.push(`stopped a leftover ${name} (pid ${pid})`);
  }
  return notes;
}

/** Runs a harness script in its own process group, its output to stderr; resolves to its exit code. */
function runScript(script: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn('bash', [join(HARNESS, script)], { cwd: HARNESS, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const pid = child.pid;
    const forward = (stream: NodeJS.ReadableStream | null): void => {
      if (stream) createInterface({ input: stream, crlfDelay: Infinity }).on('line', (l) => process.stderr.write(`[${script}] ${l}\n`));
    };
    forward(child.stdout);
    forward(child.stderr);
    // The group is the script and what it runs in the foreground; the daemons leave it (setsid) and
    // the script stops them itself in its EXIT trap once the group is signalled.
    const signalGroup = (sig: NodeJS.Signals): void => {
      if (pid === undefined) return;
      try {
        process.kill(-pid, sig);
      } catch {
        // already gone
      }
    };
    let killTimer: NodeJS.Timeout | undefined;
    const stop = (why: string): void => {
      log(`${why}: stopping ${script} (process group ${pid})`);
      signalGroup('SIGTERM');
      killTimer ??= setTimeout(() => signalGroup('SIGKILL'), 45_000);
    };
    const timer = setTimeout(() => stop(`${script} ran longer than ${Math.round(timeoutMs / 1000)} s`), timeoutMs);
    const onSignal = (sig: NodeJS.Signals): void => {
      stop(`received ${sig}`);
      child.once('exit', () => process.exit(130));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    child.on('exit', (code, sig) => {
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(code ?? (sig ? 128 : 1));
    });
  });
}

// ---- the harness's results (bench.py) ---------------------------------------------------------------

interface BbSummary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

interface FloorJson {
  readonly cases: Record<string, { readonly summary: BbSummary; readonly background_cores?: number }>;
}

interface BbBuild {
  readonly builder: string;
  readonly tag: string;
  readonly results: number;
  readonly steps_all_success: boolean;
  readonly sse_build_finished_s: number | null;
  readonly sse_buildset_complete_s: number | null;
  readonly poll_buildset_complete_s: number | null;
  readonly sse_first_step_started_s: number | null;
  readonly master_cpu_s: number;
  readonly background_cores?: number;
}

interface BbJson {
  readonly builds: readonly BbBuild[];
  readonly startup?: { readonly master_start_s: number; readonly worker_connect_s: number };
  readonly mem?: Record<string, { readonly VmRSS: number; readonly VmHWM: number }>;
}

export interface BuildbotNumbers {
  readonly stamp: string;
  readonly floorPerProcessMs: number;
  readonly perStepMs: number;
  readonly steps50Ms: number;
  readonly firstStepMs: number;
  readonly steps1Ms: number;
  readonly logMBps: number;
  readonly masterCpuPerStepMs: number;
  readonly background: number;
  readonly builds: number;
  readonly failed: number;
  readonly n: { readonly steps50: number; readonly steps1: number; readonly log: number };
  readonly startup?: { readonly master_start_s: number; readonly worker_connect_s: number };
  readonly masterRssMiB?: { readonly idle: number; readonly after: number };
}

function finished(b: BbBuild): number | null {
  return b.sse_build_finished_s ?? b.sse_buildset_complete_s ?? b.poll_buildset_complete_s;
}

function valuesOf(xs: ReadonlyArray<number | null>): number[] {
  return xs.filter((x): x is number => typeof x === 'number');
}

/** Reads one results/<stamp>/ directory of the harness. */
export function readBuildbotResults(dir: string, stamp: string): BuildbotNumbers {
  const floor = JSON.parse(readFileSync(join(dir, 'floor.json'), 'utf8')) as FloorJson;
  const bb = JSON.parse(readFileSync(join(dir, 'buildbot.json'), 'utf8')) as BbJson;
  const shFloor = floor.cases.shell_seq50?.summary.median;
  if (shFloor === undefined) throw new Error(`${dir}/floor.json has no shell_seq50 case`);
  const warm = (builder: string): BbBuild[] => bb.builds.filter((b) => b.builder === builder && b.tag === 'warm');
  const s50 = valuesOf(warm('steps50').map(finished));
  const s1 = valuesOf(warm('steps1').map(finished));
  const lg = valuesOf(warm('log50mb').map(finished));
  const first = valuesOf(warm('steps50').map((b) => b.sse_first_step_started_s));
  if (!s50.length || !s1.length || !lg.length || !first.length) throw new Error(`${dir}/buildbot.json lacks warm steps50, steps1 or log50mb builds`);
  const mem = bb.mem;
  return {
    stamp,
    floorPerProcessMs: (shFloor * 1000) / BB_STEPS,
    steps50Ms: median(s50) * 1000,
    perStepMs: ((median(s50) - shFloor) * 1000) / BB_STEPS,
    firstStepMs: median(first) * 1000,
    steps1Ms: median(s1) * 1000,
    logMBps: BB_LOG_MB / median(lg),
    masterCpuPerStepMs: (median(warm('steps50').map((b) => b.master_cpu_s)) * 1000) / BB_STEPS,
    background: median(valuesOf(bb.builds.map((b) => b.background_cores ?? null))),
    builds: bb.builds.length,
    failed: bb.builds.filter((b) => !(b.results === 0 && b.steps_all_success)).length,
    n: { steps50: s50.length, steps1: s1.length, log: lg.length },
    ...(bb.startup ? { startup: bb.startup } : {}),
    ...(mem?.master_idle && mem.master_after ? { masterRssMiB: { idle: mem.master_idle.VmRSS / 1024, after: mem.master_after.VmRSS / 1024 } } : {}),
  };
}

function resultDirs(): Set<string> {
  const dir = join(BENCH_DIR, 'results');
  return new Set(existsSync(dir) ? readdirSync(dir) : []);
}

/** Less/more: "168x less" when Otto's number is smaller than Buildbot's. */
function compare(otto: number, bb: number, smallerIsBetter: boolean): string {
  if (!(otto > 0) || !(bb > 0)) return otto <= 0 && smallerIsBetter ? 'Otto at or below the floor' : 'n/a';
  if (smallerIsBetter) return otto <= bb ? `${times(bb, otto)} less` : `${times(otto, bb)} MORE`;
  return otto >= bb ? `${times(otto, bb)} more` : `${times(bb, otto)} LESS`;
}

export function comparisonRows(otto: RunResults, bb: BuildbotNumbers): Row[] {
  return [
    {
      name: 'floor: one `sh -c true` from a sh script (same machine, both harnesses)',
      value: `Otto run ${fmtMs(otto.floorPerProcessMs)} vs Buildbot run ${fmtMs(bb.floorPerProcessMs)}`,
      note: '(a sanity check: the two floors should agree)',
    },
    {
      name: 'per-step overhead: (wall − sh floor) / steps',
      value: `Otto ${fmtMs(otto.perStepMs)} vs Buildbot ${fmtMs(bb.perStepMs)}`,
      note: `${compare(otto.perStepMs, bb.perStepMs, true)} (Otto: 200 steps in 20 stages, warm store, otto's start-up included; Buildbot: 50 ShellCommands in one build, ${fmtMs(bb.steps50Ms)} a build, n=${bb.n.steps50}, master CPU ${fmtMs(bb.masterCpuPerStepMs)} a step)`,
    },
    {
      name: 'trigger → first step running',
      value: `Otto ${fmtMs(otto.firstStepMs)} vs Buildbot ${fmtMs(bb.firstStepMs)}`,
      note: `${compare(otto.firstStepMs, bb.firstStepMs, true)} (Otto: \`otto run\` spawned → first step's process running, starting node, planning, opening the store and the agent; Buildbot: force POST → first ShellCommand started, master and worker already running)`,
    },
    {
      name: '1-step pipeline: trigger → finished',
      value: `Otto ${fmtMs(otto.oneStepMs)} vs Buildbot ${fmtMs(bb.steps1Ms)}`,
      note: `${compare(otto.oneStepMs, bb.steps1Ms, true)} (Otto: the whole \`otto run\` process, warm store; Buildbot: steps1, n=${bb.n.steps1})`,
    },
    {
      name: 'log throughput: one step printing `yes 0123456789 | head -c N`, captured and stored',
      value: `Otto ${fmtRate(otto.logMBps)} vs Buildbot ${fmtRate(bb.logMBps)}`,
      note: `${compare(otto.logMBps, bb.logMBps, false)} (Otto: 100 MB, whole process; Buildbot: 50 MB, n=${bb.n.log})`,
    },
    {
      name: 'Buildbot only: daemon start',
      value: bb.startup ? `master ${bb.startup.master_start_s.toFixed(2)} s + worker connected ${bb.startup.worker_connect_s.toFixed(2)} s` : 'n/a',
      note: `(Otto has no daemon: its start-up is in every number above${bb.masterRssMiB ? `; Buildbot master RSS ${bb.masterRssMiB.idle.toFixed(0)} → ${bb.masterRssMiB.after.toFixed(0)} MiB` : ''})`,
    },
    {
      name: 'Buildbot runs',
      value: `${bb.builds} builds, ${bb.failed} failed`,
      note: `(results/${bb.stamp}; other processes used ${bb.background.toFixed(2)} cores during a build, median)`,
    },
  ];
}

function skip(reason: string): void {
  printSection('Peers: Buildbot 3.7', [{ name: 'Buildbot 3.7 (Debian packages)', value: 'skipped', note: reason }]);
}

export async function printPeers(): Promise<void> {
  if (process.env.OTTO_BENCH_PEERS === '0') return skip('OTTO_BENCH_PEERS=0');
  if (!existsSync(join(HARNESS, 'run.sh'))) return skip(`no harness at ${HARNESS}`);
  const reason = ensureInstalled();
  if (reason) return skip(reason);
  const alive = harnessPids();
  if (alive.length) {
    return skip(`a Buildbot ${alive.map((a) => `${a.name} (pid ${a.pid})`).join(' and ')} from an earlier run is still alive under ${BENCH_DIR}; stop it by that pid first`);
  }

  let otto = lastRunResults();
  if (!otto) {
    log('the run section did not run in this process: measuring Otto first (quick: 3 runs, 1 flood run, warm store)');
    const quick = await benchRun({ runs: 3, floodRuns: 1, quick: true });
    for (const s of quick.sections) printSection(`${s.title} (quick, for the peers)`, s.rows);
    otto = quick.results;
  }

  const [pbPort, wwwPort] = await ports();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    BB_BENCH_DIR: BENCH_DIR,
    BB_PB_PORT: String(pbPort),
    BB_WWW_PORT: String(wwwPort),
    BB_RUNS: process.env.BB_RUNS ?? '3',
    BB_LOG_RUNS: process.env.BB_LOG_RUNS ?? '2',
    BB_FLOOR_RUNS: process.env.BB_FLOOR_RUNS ?? '5',
    BB_QUIET_WAIT: process.env.BB_QUIET_WAIT ?? '2',
    BB_REJECT_CORES: process.env.BB_REJECT_CORES ?? '99',
  };
  log(`Buildbot in ${BENCH_DIR}, ports ${pbPort}/${wwwPort}; BB_RUNS=${env.BB_RUNS} BB_LOG_RUNS=${env.BB_LOG_RUNS} BB_FLOOR_RUNS=${env.BB_FLOOR_RUNS} BB_QUIET_WAIT=${env.BB_QUIET_WAIT} BB_REJECT_CORES=${env.BB_REJECT_CORES}`);
  const setup = await runScript('setup.sh', env, 5 * 60_000);
  if (setup !== 0) return skip(`setup.sh exited with ${setup} (its output is above, on stderr)`);
  const before = resultDirs();
  const started = Date.now();
  const code = await runScript('run.sh', env, Number(process.env.OTTO_BENCH_PEERS_TIMEOUT_S ?? 900) * 1000);
  const leftovers = await stopLeftovers();
  const fresh = [...resultDirs()].filter((d) => !before.has(d)).sort();
  const stamp = fresh.pop();
  if (code !== 0 || stamp === undefined) {
    return skip(`run.sh exited with ${code}${stamp ? ` (partial results in ${join(BENCH_DIR, 'results', stamp)})` : ''}${leftovers.length ? `; ${leftovers.join(', ')}` : ''}`);
  }
  let bb: BuildbotNumbers;
  try {
    bb = readBuildbotResults(join(BENCH_DIR, 'results', stamp), stamp);
  } catch (e) {
    return skip(`could not read the results: ${(e as Error).message}`);
  }
  const rows = comparisonRows(otto, bb);
  if (leftovers.length) rows.push({ name: 'clean-up', value: leftovers.join(', ') });
  printSection(`Peers: Otto vs Buildbot 3.7 (Debian packages), same machine; Buildbot took ${((Date.now() - started) / 1000).toFixed(0)} s${otto.quick ? '; Otto numbers from a quick run' : ''}`, rows);
}
