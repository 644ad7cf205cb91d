// What `otto run` shows while it runs: on a terminal, a live tree of stages with state and
// durations (finished stages collapse); otherwise plain lines, each prefixed by its stage path.

import pc from 'picocolors';
import type { LogRecord, RunStatus, StageRecord } from '../../store/index.js';
import type { RunListener } from '../../engine/index.js';
import { formatDuration, statusWord, SYMBOL } from './format.js';

type Colors = ReturnType<typeof pc.createColors>;

function paint(c: Colors, status: StageRecord['status'], text: string): string {
  switch (status) {
    case 'succeeded':
      return c.green(text);
    case 'failed':
    case 'timed_out':
      return c.red(text);
    case 'unstable':
    case 'waiting':
      return c.yellow(text);
    case 'running':
      return c.cyan(text);
    default:
      return c.dim(text);
  }
}

interface ViewOptions {
  readonly out: NodeJS.WriteStream;
  readonly color: boolean;
  readonly now?: () => number;
}

/** Plain lines for logs and CI: `[Build] …` for output, one line per state change. */
export class PlainView implements RunListener {
  private readonly last = new Map<string, string>();
  private readonly c: Colors;
  private readonly partial = new Map<string, string>();

  constructor(private readonly options: ViewOptions & { quiet?: boolean }) {
    this.c = pc.createColors(options.color);
  }

  stages(records: readonly StageRecord[]): void {
    for (const r of records) {
      const key = `${r.status}\0${r.attempt}`;
      if (this.last.get(r.path) === key) continue;
      // A stage that ended mid-line: print what it left before its state change.
      if (r.finishedAt !== null || r.status === 'queued') this.flushStage(r.path);
      this.last.set(r.path, key);
      // Pending and queued are moments, not news: a stage's story starts when it runs or waits.
      if (r.status === 'pending' || r.status === 'queued') continue;
      this.options.out.write(`${this.c.dim(`[${r.path}]`)} ${paint(this.c, r.status, `${SYMBOL[r.status]} ${statusWord(r.status)}`)}${this.detail(r)}\n`);
    }
  }

  private detail(r: StageRecord): string {
    const parts: string[] = [];
    if (r.attempt > 1 && (r.status === 'running' || r.status === 'queued')) parts.push(`attempt ${r.attempt}`);
    if (r.startedAt !== null && r.finishedAt !== null) parts.push(`in ${formatDuration(r.finishedAt - r.startedAt)}`);
    if (r.message && r.status !== 'running' && r.status !== 'waiting') parts.push(r.message);
    const tail = parts.length ? ` ${this.c.dim(parts.join(' — '))}` : '';
    return r.status === 'waiting' && r.message ? ` ${r.message}${tail}` : tail;
  }

  logs(stage: string, _attempt: number, chunks: readonly LogRecord[]): void {
    if (this.options.quiet) return;
    const prefix = `${this.c.dim(`[${stage}]`)} `;
    let text = this.partial.get(stage) ?? '';
    for (const c of chunks) text += c.text;
    const cut = text.lastIndexOf('\n');
    if (cut < 0) {
      this.partial.set(stage, text);
      return;
    }
    this.partial.set(stage, text.slice(cut + 1));
    // One replace over the whole batch: prefixing line by line would be the slowest part of a flood.
    this.options.out.write(prefix + text.slice(0, cut + 1).replace(/\n(?!$)/g, `\n${prefix}`));
  }

  private flushStage(stage: string): void {
    const rest = this.partial.get(stage);
    if (rest) this.options.out.write(`${this.c.dim(`[${stage}]`)} ${rest}\n`);
    this.partial.delete(stage);
  }

  flush(): void {
    for (const stage of [...this.partial.keys()]) this.flushStage(stage);
  }
}

/** The live tree: redrawn in place a few times a second. */
export class TreeView implements RunListener {
  private records: readonly StageRecord[] = [];
  private run: { status: RunStatus; message: string } = { status: 'queued', message: '' };
  private readonly lastLine = new Map<string, string>();
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly c: Colors;
  private readonly now: () => number;

  constructor(private readonly options: ViewOptions) {
    this.c = pc.createColors(options.color);
    this.now = options.now ?? Date.now;
    this.timer = setInterval(() => this.draw(), 100);
    this.timer.unref();
  }

  stages(records: readonly StageRecord[], run: { status: RunStatus; message: string }): void {
    this.records = records;
    this.run = run;
  }

  logs(stage: string, _attempt: number, chunks: readonly LogRecord[]): void {
    // From the newest chunk back, until one has a line that is not blank: a flood's earlier chunks
    // are never decoded (or read back from the log file) just to be passed over. Chunks end on line
    // boundaries unless a line is longer than a chunk.
    for (let i = chunks.length - 1; i >= 0; i--) {
      const lines = (chunks[i] as LogRecord).text.split('\n').filter((l) => l.trim() !== '');
      const last = lines[lines.length - 1];
      if (last === undefined) continue;
      this.lastLine.set(stage, last);
      return;
    }
  }

  private line(r: StageRecord, width: number): string {
    const depth = r.path.split('/').length - 1;
    const name = r.path.split('/').pop() ?? r.path;
    const end = r.finishedAt ?? (r.startedAt !== null ? this.now() : null);
    const time = r.startedAt !== null && end !== null ? formatDuration(end - r.startedAt) : '';
    const label = `${'  '.repeat(depth)}${SYMBOL[r.status]} ${name}`;
    let tail = '';
    if (r.status === 'running') tail = this.lastLine.get(r.path) ?? '';
    else if (r.status === 'waiting' || r.status === 'failed' || r.status === 'timed_out' || r.status === 'skipped' || r.status === 'unstable') tail = r.message;
    const head = `${label.padEnd(32)} ${statusWord(r.status).padEnd(9)} ${time.padStart(7)}`;
    const room = Math.max(0, width - head.length - 2);
    const t = tail.replace(/\s+/g, ' ').slice(0, room);
    return `${paint(this.c, r.status, head)}  ${this.c.dim(t)}`;
  }

  private draw(final = false): void {
    const width = this.options.out.columns ?? 100;
    const lines: string[] = [];
    const done = this.records.filter((r) => r.status === 'succeeded' || r.status === 'skipped');
    // Collapse finished stages once the tree outgrows the screen.
    const rows = this.options.out.rows ?? 40;
    const collapse = !final && this.records.length > rows - 4 && done.length > 0;
    if (collapse) lines.push(this.c.green(`✓ ${done.length} stage${done.length === 1 ? '' : 's'} done`));
    for (const r of this.records) {
      if (collapse && (r.status === 'succeeded' || r.status === 'skipped')) continue;
      lines.push(this.line(r, width));
    }
    let out = '';
    if (this.drawn > 0) out += `\x1b[${this.drawn}F\x1b[J`;
    out += lines.join('\n') + '\n';
    this.options.out.write(out);
    this.drawn = lines.length;
  }

  /** Stops redrawing (a prompt needs the screen) until resume(). */
  pause(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.draw(true);
    this.drawn = 0;
  }

  resume(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.draw(), 100);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.draw(true);
    this.drawn = 0;
    void this.run;
  }
}
