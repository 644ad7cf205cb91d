// The store conformance suite: every method of the Store interface and its edge cases, run
// against each implementation (test/store/sqlite.test.ts, test/store/postgres.test.ts). A new
// store passes this before anything else uses it. The cases live in ./conformance/, one file per
// area; this file wires them to a target.

import { describe, test } from 'node:test';
import type { Store } from '../../src/store/index.js';
import type { WithStore } from './conformance/fixtures.js';
import { runCases } from './conformance/runs.js';
import { eventCases } from './conformance/events.js';
import { logAndLockCases } from './conformance/logs-locks.js';
import { recordCases } from './conformance/records.js';
import { agentAndAuditCases } from './conformance/agents-audit.js';
import { sharedCases } from './conformance/shared.js';

export interface ConformanceTarget {
  readonly name: string;
  /** A fresh, empty store. Each test closes the stores it opened. */
  readonly open: () => Promise<Store>;
  /**
   * Another store over the same storage as the store `open` returned last (a second process or
   * server replica). Without it, the multi-instance cases are skipped.
   */
  readonly openShared?: () => Promise<Store>;
  /** Why the whole suite cannot run here (the implementation's backing service is missing). */
  readonly skip?: string;
}

export function storeConformance(target: ConformanceTarget): void {
  /** Opens a fresh store for one test and closes it (and any shared ones) afterwards. */
  const withStore: WithStore =
    (fn: (store: Store, shared: () => Promise<Store>) => Promise<void>) =>
    async (): Promise<void> => {
      const opened: Store[] = [];
      const store = await target.open();
      opened.push(store);
      const shared = async (): Promise<Store> => {
        if (!target.openShared) throw new Error('no openShared');
        const s = await target.openShared();
        opened.push(s);
        return s;
      };
      try {
        await fn(store, shared);
      } finally {
        for (const s of opened.reverse()) await s.close();
      }
    };
  const sharedSkip = target.openShared
    ? undefined
    : `${target.name} has no second instance over the same storage`;

  describe(`Store conformance: ${target.name}`, { skip: target.skip }, () => {
    runCases(withStore);
    eventCases(withStore);
    logAndLockCases(withStore);
    recordCases(withStore);
    agentAndAuditCases(withStore);
    sharedCases(withStore, sharedSkip);

    test('close resolves', async () => {
      const s = await target.open();
      await s.close();
    });
  });
}
