// The composition root of the otto command: parses arguments and dispatches to commands.

import { Command, CommanderError } from 'commander';
import pc from 'picocolors';
import { packageVersion } from '../util/install.js';
import { restoreExtraCaCerts } from '../util/http-fetch.js';
import { EXIT, exitQuietlyOnBrokenPipe, UsageError, useColor, writeErr } from './io.js';


/** Runs a command's body, turning its result into the process exit code. */
type Action = () => number | Promise<number>;

const collect = (v: string, prev: string[]): string[] => [...prev, v];

function build(setExit: (code: number) => void): Command {
  const program = new Command('otto')
    .description('Otto: continuous delivery modelled in a small, deterministic language.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .showSuggestionAfterError(true)
    .configureHelp({ sortSubcommands: false })
    .exitOverride();
  const act = (fn: Action) => async (): Promise<void> => setExit(await fn());

  program
    .command('check')
    .description('check pipeline files and report every problem (exit 1 on errors)')
    .argument('[files...]', "pipeline files (default: Ottofile), or '-' for standard input", [])
    .option('--json', 'print one JSON object: {"ok", "diagnostics": [...]}')
    .action(async (files: string[], opts: { json?: boolean }) => {
      const { runCheck } = await import('./commands/check.js');
      await act(() => runCheck(files, opts))();
    });

  program
    .command('fmt')
    .description('format pipeline files canonically (stdout by default)')
    .argument('[files...]', "pipeline files, or '-' for standard input", [])
    .option('-w, --write', 'rewrite the files in place')
    .option('--check', 'exit 1 when a file is not formatted (prints the names)')
    .action(async (files: string[], opts: { write?: boolean; check?: boolean }) => {
      const { runFmt } = await import('./commands/fmt.js');
      await act(() => runFmt(files, opts))();
    });

  program
    .command('lock')
    .description('fetch remote libraries into the cache and pin them by sha256 in otto.lock')
    .argument('[files...]', 'pipeline files (otto.lock is written beside each)', [])
    .option('--update', 're-resolve git refs and download tarballs again, pinning changed content')
    .option('--check', 'exit 1 when otto.lock lacks a used library, pins an unused one, or the cache lacks one (writes nothing)')
    .action(async (files: string[], opts: { update?: boolean; check?: boolean }) => {
      const { runLock } = await import('./commands/lock.js');
      await act(() => runLock(files, opts))();
    });

  const contextFlags = (cmd: Command): Command =>
    cmd
      .option('--event <event>', 'trigger event: push, pull_request, tag, cron, manual, api (default: manual)')
      .option('--branch <name>', 'branch (default: the current git branch)')
      .option('--tag <name>', 'tag (default: none)')
      .option('--sha <sha>', 'commit (default: git HEAD)')
      .option('--base <rev>', 'compute changed files against this revision')
      .option('--var <name=value>', 'a pipeline var (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[]);

  contextFlags(
    program
      .command('explain')
      .description('show exactly what a run will do, and why, without running anything')
      .argument('[file]', 'pipeline file (default: Ottofile, or the inferred pipeline when there is none)'),
  )
    .option('--json', 'print the plan as JSON (same as --format json)')
    .option('--format <format>', 'text, json, dot or mermaid', 'text')
    .action(async (file: string | undefined, opts: Record<string, unknown>) => {
      const { runExplain } = await import('./commands/explain.js');
      await act(() => runExplain(file, { ...opts, vars: opts.var as string[] }))();
    });

  contextFlags(
    program
      .command('run')
      .description('run a pipeline here, with the same engine the server uses')
      .argument('[file]', 'pipeline file (default: Ottofile, or the inferred pipeline when there is none)'),
  )
    .option('-j, --jobs <n>', 'most stages running at once (default: the number of cores)')
    .option('--in-place', 'run in the project directory itself instead of a copy')
    .option('--json', 'print the finished run as JSON instead of the live view')
    .option('-q, --quiet', 'print stage changes and the summary, not the logs (non-terminal output)')
    .option('--approve <stage>', "approve this stage's input gates in advance (repeatable)", collect, [] as string[])
    .option('-y, --yes', 'approve every input gate in advance')
    .option('--secret <name>', "take this secret's value from the environment, for this run only (repeatable)", collect, [] as string[])
    .action(async (file: string | undefined, opts: Record<string, unknown>) => {
      const { runRun } = await import('./commands/run.js');
      const { localExtensions } = await import('./local-extensions.js');
      await act(async () => runRun(file, { ...opts, vars: opts.var as string[] }, await localExtensions(opts)))();
    });

  program
    .command('runs')
    .description('list runs, newest first')
    .option('--json', 'print the runs as JSON')
    .option('-n, --limit <n>', 'how many runs (default 20)')
    .option('--status <status>', 'only runs in this state')
    .action(async (opts: { json?: boolean; limit?: string; status?: string }) => {
      const { runRuns } = await import('./commands/runs.js');
      await act(() => runRuns(opts))();
    });

  program
    .command('logs')
    .description("print a run's logs (one stage's with STAGE)")
    .argument('[run]', 'run id')
    .argument('[stage]', 'stage path, such as Deploy/Production')
    .option('--last', 'the newest run')
    .option('-f, --follow', 'keep printing until the run ends')
    .option('--attempt <n>', 'only this attempt')
    .action(async (run: string | undefined, stage: string | undefined, opts: { last?: boolean; follow?: boolean; attempt?: string }) => {
      const { runLogs } = await import('./commands/runs.js');
      // With --last, a single argument is the stage.
      const [id, st] = opts.last && run !== undefined && stage === undefined ? [undefined, run] : [run, stage];
      await act(() => runLogs(id, st, opts))();
    });

  program
    .command('cancel')
    .description('cancel a run: its steps get SIGTERM, its state is recorded')
    .argument('<run>', 'run id')
    .action(async (run: string) => {
      const { runCancel } = await import('./commands/runs.js');
      await act(() => runCancel(run))();
    });

  program
    .command('resume')
    .description('continue an interrupted run from where it stopped')
    .argument('<run>', 'run id')
    .option('-j, --jobs <n>', 'most stages running at once')
    .option('--json', 'print the finished run as JSON')
    .option('-q, --quiet', 'no logs, only stage changes')
    .option('--approve <stage>', "approve this stage's input gates in advance (repeatable)", collect, [] as string[])
    .option('-y, --yes', 'approve every input gate in advance')
    .option('--secret <name>', "take this secret's value from the environment (repeatable)", collect, [] as string[])
    .action(async (run: string, opts: Record<string, unknown>) => {
      const { runResume } = await import('./commands/resume.js');
      const { localExtensions } = await import('./local-extensions.js');
      await act(async () => runResume(run, opts, await localExtensions(opts)))();
    });

  program
    .command('rerun')
    .description('run a recorded run again, with its plan')
    .argument('<run>', 'run id')
    .option('--from-failed', 'reuse the stages that did not fail; run the rest')
    .option('-j, --jobs <n>', 'most stages running at once')
    .option('--json', 'print the finished run as JSON')
    .option('-q, --quiet', 'no logs, only stage changes')
    .option('--approve <stage>', "approve this stage's input gates in advance (repeatable)", collect, [] as string[])
    .option('-y, --yes', 'approve every input gate in advance')
    .option('--secret <name>', "take this secret's value from the environment (repeatable)", collect, [] as string[])
    .action(async (run: string, opts: Record<string, unknown>) => {
      const { runRerun } = await import('./commands/resume.js');
      const { localExtensions } = await import('./local-extensions.js');
      await act(async () => runRerun(run, opts, await localExtensions(opts)))();
    });

  program
    .command('approve')
    .description('approve (or --reject) the input gate a stage is waiting at')
    .argument('<run>', 'run id')
    .argument('<stage>', 'stage path')
    .option('--reject', 'reject instead: the stage fails')
    .option('-m, --comment <text>', 'why')
    .option('--override', 'decide a callback or poll gate in place of the system it waits for')
    .action(async (run: string, stage: string, opts: { reject?: boolean; comment?: string; override?: boolean }) => {
      const { runApprove } = await import('./commands/approve.js');
      await act(() => runApprove(run, stage, opts))();
    });

  program
    .command('callback')
    .description("complete a webhook gate with its callback token (as an external system would)")
    .argument('<token>', 'the token from the callback URL')
    .argument('<status>', 'success or failure')
    .option('-m, --message <text>', 'a message recorded with the decision')
    .action(async (token: string, status: string, opts: { message?: string }) => {
      const { runCallback } = await import('./commands/approve.js');
      await act(() => runCallback(token, status, opts))();
    });

  const secrets = program.command('secrets').description('secrets for this project, encrypted at rest');
  secrets
    .command('set')
    .description('store a secret; its value is read from standard input')
    .argument('<name>', 'the name stages use in credentials')
    .option('--env <environment>', 'only for stages deploying to this environment')
    .action(async (name: string, opts: { env?: string }) => {
      const { runSecretsSet } = await import('./commands/secrets.js');
      await act(() => runSecretsSet(name, opts))();
    });
  secrets
    .command('list')
    .description('list secret names (never values)')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const { runSecretsList } = await import('./commands/secrets.js');
      await act(() => runSecretsList(opts))();
    });
  secrets
    .command('rm')
    .description('remove a secret')
    .argument('<name>', 'secret name')
    .option('--env <environment>', 'the environment it was set for')
    .action(async (name: string, opts: { env?: string }) => {
      const { runSecretsRm } = await import('./commands/secrets.js');
      await act(() => runSecretsRm(name, opts))();
    });

  program
    .command('deployments')
    .description('what is deployed where, and the history of each environment')
    .option('--json', 'print JSON')
    .option('--environment <name>', 'only this environment')
    .option('-n, --limit <n>', 'how many history entries (default 100)')
    .action(async (opts: { json?: boolean; environment?: string; limit?: string }) => {
      const { runDeployments } = await import('./commands/deployments.js');
      await act(() => runDeployments(opts))();
    });

  program
    .command('gc')
    .description('remove artifacts older than 90 days, caches unused for 7, and blobs nothing uses')
    .option('--data <dir>', "a server's data directory (default: this project's .otto)")
    .option('--dry-run', 'say what would be removed, remove nothing')
    .option('--json', 'print JSON')
    .option('-q, --quiet', 'print nothing')
    .action(async (opts: { data?: string; dryRun?: boolean; json?: boolean; quiet?: boolean }) => {
      const { runGc } = await import('./commands/gc.js');
      await act(async () => runGc(opts))();
    });

  program
    .command('serve')
    .description("run Otto as a team's service: HTTP API, scheduler and web UI in one process")
    .option('--listen <host:port>', 'where to listen (default 127.0.0.1:7070)')
    .option('--data <dir>', 'state directory: SQLite store, repositories, objects (default ./otto-data or $OTTO_DATA)')
    .option('--postgres <url>', 'keep state in PostgreSQL instead (postgres://…)')
    .option('--secret-key <file>', 'the key that encrypts secrets (default $OTTO_SECRET_KEY_FILE, else $XDG_CONFIG_HOME/otto/secret.key, else ~/.config/otto/secret.key)')
    .option('--public-url <url>', 'the URL agents and callbacks use to reach this server (default: the listen address)')
    .option('--agent-timeout <seconds>', 'an agent silent this long is lost, and its stages fail or retry (default 30)')
    .option('--graphite <host:port>', 'also export metrics to Graphite (plaintext protocol)')
    .option('--graphite-prefix <prefix>', 'metric name prefix for Graphite (default otto)')
    .action(async (opts: Record<string, string | undefined>) => {
      const { runServe } = await import('./commands/serve.js');
      const { uiRoutes } = await import('./ui-routes.js');
      await act(() => runServe(opts, packageVersion(), uiRoutes))();
    });

  program
    .command('agent')
    .description('run an agent for otto serve: claim stages and run them on this machine')
    .option('--server <url>', 'the server, e.g. https://ci.example.com')
    .option('--token <token>', 'agent token (default: $OTTO_AGENT_TOKEN, preferred: arguments show in ps)')
    .option('--labels <a,b>', 'labels for computer { label = … } stages, comma-separated')
    .option('-j, --jobs <n>', 'most stages at once (default: the number of cores)')
    .option('--name <name>', 'the name the server knows this agent by (default: the host name)')
    .option('--work-dir <dir>', 'workspaces, repository mirrors, buffered events (default: $OTTO_AGENT_DIR or ~/.cache/otto/agent)')
    .option('--library-cache <dir>', 'where library: steps are found (default: $OTTO_LIBRARY_CACHE or ~/.cache/otto/libraries)')
    .action(async (opts: { server?: string; token?: string; labels?: string; jobs?: string; name?: string; workDir?: string; libraryCache?: string }) => {
      const { runRemoteAgent } = await import('../agent/remote-main.js');
      await act(() => runRemoteAgent(opts))();
    });

  const token = program.command('token').description('API tokens for otto serve (stored as hashes)');
  token
    .command('create')
    .description('create a token and print it once')
    .requiredOption('--role <role>', 'viewer, operator, admin or agent')
    .option('--name <name>', 'who or what uses it (shown in the audit log and on approvals)')
    .option('--data <dir>', "the server's data directory")
    .option('--postgres <url>', "the server's PostgreSQL")
    .option('--out <file>', 'write the token to this file (mode 600) instead of stdout')
    .action(async (opts: Record<string, string | undefined>) => {
      const { runTokenCreate } = await import('./commands/serve.js');
      await act(() => runTokenCreate(opts))();
    });
  token
    .command('list')
    .description('list tokens (names and roles, never the tokens)')
    .option('--data <dir>', "the server's data directory")
    .option('--postgres <url>', "the server's PostgreSQL")
    .option('--json', 'print JSON')
    .action(async (opts: Record<string, string | boolean | undefined>) => {
      const { runTokenList } = await import('./commands/serve.js');
      await act(() => runTokenList(opts as { data?: string; json?: boolean }))();
    });
  token
    .command('revoke')
    .description('revoke a token by id')
    .argument('<id>', 'token id (otto token list)')
    .option('--data <dir>', "the server's data directory")
    .option('--postgres <url>', "the server's PostgreSQL")
    .action(async (id: string, opts: Record<string, string | undefined>) => {
      const { runTokenRevoke } = await import('./commands/serve.js');
      await act(() => runTokenRevoke(id, opts))();
    });

  const audit = program.command('audit').description("the server's hash-chained audit log");
  for (const action of ['verify', 'export'] as const) {
    audit
      .command(action)
      .description(action === 'verify' ? 'check that no record was changed, removed or reordered (exit 1 if so)' : 'print every record as a JSON line')
      .option('--data <dir>', "the server's data directory")
      .option('--postgres <url>', "the server's PostgreSQL")
      .action(async (opts: Record<string, string | undefined>) => {
        const { runAudit } = await import('./commands/serve.js');
        await act(() => runAudit(action, opts))();
      });
  }

  program
    .command('init')
    .description('write the pipeline Otto infers for this project to Ottofile')
    .option('--force', 'replace an existing Ottofile')
    .action(async (opts: { force?: boolean }) => {
      const { runInit } = await import('./commands/init.js');
      await act(() => runInit(opts))();
    });

  program.addHelpText('after', '\nRun `otto <command> --help` for a command\'s options. Docs: docs/ in the Otto repository.');
  return program;
}

export async function run(argv: readonly string[]): Promise<void> {
  restoreExtraCaCerts();
  exitQuietlyOnBrokenPipe();
  let code: number = EXIT.ok;
  const program = build((c) => (code = c));
  const color = useColor(process.stderr);
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (e) {
    code = handleError(e, color);
  }
  process.exitCode = code;
}

function handleError(e: unknown, color: boolean): number {
  if (e instanceof CommanderError) {
    // --help and --version end here too, with exit code 0.
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT.ok;
    return EXIT.usage;
  }
  if (e instanceof UsageError) {
    const c = pc.createColors(color);
    writeErr(`${c.red(c.bold('error'))}: ${e.message}${e.help ? `\n  ${c.bold('help:')} ${e.help}` : ''}`);
    return e.exitCode;
  }
  const err = e as Error;
  writeErr(`otto: internal error: ${err?.message ?? String(e)}`);
  if (process.env.OTTO_DEBUG) writeErr(err?.stack ?? '');
  else writeErr('  (set OTTO_DEBUG=1 to see where; please report it)');
  return EXIT.failed;
}
