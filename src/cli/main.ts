// The composition root of the otto command: parses arguments and dispatches to commands.

import { Command, CommanderError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import pc from 'picocolors';
import { EXIT, UsageError, useColor, writeErr } from './io.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Runs a command's body, turning its result into the process exit code. */
type Action = () => number | Promise<number>;

function build(setExit: (code: number) => void): Command {
  const program = new Command('otto')
    .description('Otto: continuous delivery modelled in a small, deterministic language.')
    .version(version(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .showSuggestionAfterError(true)
    .configureHelp({ sortSubcommands: false })
    .exitOverride();
  const act = (fn: Action) => async (): Promise<void> => setExit(await fn());

  program
    .command('check')
    .description('check pipeline files and report every problem (exit 1 on errors)')
    .argument('[files...]', 'pipeline files', [])
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

  program.addHelpText('after', '\nRun `otto <command> --help` for a command\'s options. Docs: docs/ in the Otto repository.');
  void Option;
  return program;
}

export async function run(argv: readonly string[]): Promise<void> {
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
