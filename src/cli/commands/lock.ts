// `otto lock [FILE…]`: fetch remote libraries into the cache and pin them in otto.lock; `--check` only verifies.

import pc from 'picocolors';
import { checkLock, lockPipeline } from '../../plan/lock.js';
import { displayPath, EXIT, UsageError, useColor, writeErr, writeOut } from '../io.js';
import { assertReadable } from './check.js';

export interface LockCommandOptions {
  readonly update?: boolean;
  readonly check?: boolean;
}

export async function runLock(
  files: readonly string[],
  options: LockCommandOptions,
): Promise<number> {
  if (options.update && options.check)
    throw new UsageError(
      '--update and --check cannot be used together',
      'run `otto lock --update`, then `otto lock --check`',
    );
  const targets = files.length ? files : ['Ottofile'];
  for (const f of targets) {
    if (f === '-')
      throw new UsageError(
        'otto lock needs a pipeline file, not standard input',
        'otto.lock is written beside the pipeline file: name the file',
      );
    assertReadable(f);
  }
  const c = pc.createColors(useColor(process.stderr));
  let code: number = EXIT.ok;
  for (const f of targets) {
    const r = options.check
      ? checkLock(f)
      : await lockPipeline(f, { update: options.update === true });
    for (const line of r.messages) writeOut(line);
    for (const p of r.problems)
      writeErr(`${c.red(c.bold('error'))}: ${p.message}\n  ${c.bold('help:')} ${p.help}`);
    if (r.problems.length > 0) {
      code = EXIT.failed;
      if (!options.check) writeErr(`${displayPath(r.lockPath)} was not written`);
    } else if (!options.check && r.messages.length === 0) {
      writeOut(`${displayPath(f)}: no remote libraries to pin`);
    }
  }
  return code;
}
