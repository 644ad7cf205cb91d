// Process-level helpers for commands: output streams, colour, exit codes, usage errors.

import { relative, isAbsolute } from 'node:path';

export const EXIT = { ok: 0, failed: 1, usage: 2, cancelled: 130 } as const;

/** A mistake in how the command was called: printed without a stack trace, exit 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly help?: string,
    readonly exitCode: number = EXIT.usage,
  ) {
    super(message);
  }
}

/** Colour only on a TTY, never with NO_COLOR (https://no-color.org) or a dumb terminal. */
export function useColor(stream: NodeJS.WriteStream): boolean {
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false;
  if (process.env.FORCE_COLOR !== undefined && process.env.FORCE_COLOR !== '0') return true;
  return stream.isTTY === true && process.env.TERM !== 'dumb';
}

/**
 * A reader that stops early (`otto audit export | head`) closes the pipe: the rest of the output
 * has nowhere to go, which is not an error. Exit quietly, as other command-line tools do.
 */
export function exitQuietlyOnBrokenPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw e;
    });
  }
}

/** A path as the user would like to read it: relative to the working directory when inside it. */
export function displayPath(p: string): string {
  if (!isAbsolute(p)) return p;
  const rel = relative(process.cwd(), p);
  return rel.startsWith('..') ? p : rel;
}

export function writeOut(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

export function writeErr(text: string): void {
  process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
}
