// Signals a process group and tells whether anything in it is still running.

import { readFileSync, readdirSync } from 'node:fs';

/** Sends `sig` to every process in group `pgid`; false when the group has no members left. */
export function signalGroup(pgid: number, sig: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, sig);
    return true;
  } catch {
    return false; // ESRCH
  }
}

/**
 * Whether group `pgid` has a member that is not a zombie. `kill(-pgid, 0)` alone counts zombies, and
 * orphans stay zombies forever when PID 1 does not reap them (a container whose init is the agent or
 * a minimal supervisor, as on the machine this was written on); without this check every step that
 * left an orphan behind would wait out the whole grace period. Linux only; elsewhere kill() decides.
 */
export function groupAlive(pgid: number): boolean {
  if (!signalGroup(pgid, 0)) return false;
  if (process.platform !== 'linux') return true;
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return true;
  }
  for (const name of entries) {
    const c = name.charCodeAt(0);
    if (c < 48 || c > 57) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'latin1');
    } catch {
      continue; // exited while we looked
    }
    // "pid (comm) state ppid pgrp …": comm may contain spaces and parentheses, so parse after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ', 3);
    if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') return true;
  }
  return false;
}
