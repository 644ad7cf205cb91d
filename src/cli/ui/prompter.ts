// The terminal prompt for input gates: asks on stderr, reads stdin, and steps aside if the gate is
// answered elsewhere (otto approve, the web UI) while it waits.

import { createInterface, type Interface } from 'node:readline';
import type { OpenGate, Prompter } from '../../engine/index.js';

export class TerminalPrompter implements Prompter {
  private current: { rl: Interface; gate: OpenGate; resolve: (a: { approved: boolean; comment: string } | undefined) => void } | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly hooks: { pause?: () => void; resume?: () => void } = {}) {}

  ask(question: string, gate: OpenGate): Promise<{ approved: boolean; comment: string } | undefined> {
    // One question at a time: parallel stages may wait for people at once.
    const answer = this.queue.then(() => this.askNow(question, gate));
    this.queue = answer.catch(() => undefined);
    return answer;
  }

  private askNow(question: string, gate: OpenGate): Promise<{ approved: boolean; comment: string } | undefined> {
    return new Promise((resolve) => {
      this.hooks.pause?.();
      const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
      this.current = { rl, gate, resolve };
      const ask = (): void => {
        rl.question(`\n? ${gate.stage}: ${question} [y/n, optionally followed by ': comment'] `, (line) => {
          const m = /^\s*(y|yes|n|no)\s*(?::\s*(.*))?$/i.exec(line);
          if (!m) {
            process.stderr.write('  answer y or n (for example: n: staging is broken)\n');
            ask();
            return;
          }
          this.finish({ approved: /^y/i.test(m[1] as string), comment: (m[2] ?? '').trim() });
        });
      };
      rl.on('close', () => this.finish(undefined));
      ask();
    });
  }

  private finish(answer: { approved: boolean; comment: string } | undefined): void {
    const c = this.current;
    if (!c) return;
    this.current = undefined;
    c.rl.close();
    this.hooks.resume?.();
    c.resolve(answer);
  }

  withdraw(gate: OpenGate): void {
    if (this.current && this.current.gate.stage === gate.stage && this.current.gate.phase === gate.phase && this.current.gate.index === gate.index) {
      process.stderr.write('\n  (answered elsewhere)\n');
      this.finish(undefined);
    }
  }
}
