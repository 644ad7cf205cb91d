// Server-sent events over fetch. EventSource cannot send an Authorization header, so the stream is
// read with fetch and parsed here; on a drop it reconnects with Last-Event-ID, so no event is lost,
// and a stream silent for longer than the server's keep-alive period counts as dropped.

import { errorFrom } from './api.js';

export interface SseMessage {
  readonly id: string;
  readonly event: string;
  readonly data: string;
}

/** The text/event-stream format, fed in chunks (a message may span chunks). */
export class SseParser {
  private buffer = '';
  private id = '';
  private event = '';
  private data: string[] = [];
  /** The last id seen, which a reconnect sends back as Last-Event-ID. */
  lastId = '';
  retryMs: number | undefined;

  feed(chunk: string, emit: (m: SseMessage) => void): void {
    this.buffer += chunk;
    let start = 0;
    for (;;) {
      const nl = this.buffer.indexOf('\n', start);
      if (nl < 0) break;
      let line = this.buffer.slice(start, nl);
      start = nl + 1;
      if (line.endsWith('\r')) line = line.slice(0, -1);
      this.line(line, emit);
    }
    this.buffer = this.buffer.slice(start);
  }

  private line(line: string, emit: (m: SseMessage) => void): void {
    if (line === '') {
      if (this.data.length) {
        if (this.id) this.lastId = this.id;
        emit({ id: this.id, event: this.event || 'message', data: this.data.join('\n') });
      }
      this.id = '';
      this.event = '';
      this.data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'id') this.id = value;
    else if (field === 'event') this.event = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.retryMs = Number(value);
  }
}

export type StreamState = 'connecting' | 'live' | 'reconnecting' | 'closed' | 'failed';

export interface EventStreamOptions {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly onMessage: (m: SseMessage) => void;
  readonly onState: (state: StreamState, detail: string) => void;
  /** Resume after this id (a page that already holds events up to it). */
  readonly lastEventId?: string;
  /** A stream with no bytes (not even a keep-alive) for this long is reconnected. */
  readonly idleMs?: number;
}

/** One logical stream across any number of connections. */
export class EventStream {
  private readonly parser = new SseParser();
  private controller: AbortController | undefined;
  private closed = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** How many connections have been made (the first, then each resume). */
  connections = 0;

  constructor(private readonly options: EventStreamOptions) {
    if (options.lastEventId) this.parser.lastId = options.lastEventId;
  }

  get lastEventId(): string {
    return this.parser.lastId;
  }

  start(): this {
    void this.connect();
    return this;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.controller?.abort();
    this.options.onState('closed', '');
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    this.connections++;
    this.options.onState(this.connections === 1 ? 'connecting' : 'reconnecting', '');
    const controller = new AbortController();
    this.controller = controller;
    const idleMs = this.options.idleMs ?? 40_000;
    let why = '';
    let idle: ReturnType<typeof setTimeout> | undefined;
    const touch = (): void => {
      if (idle) clearTimeout(idle);
      idle = setTimeout(() => controller.abort(), idleMs);
    };
    try {
      const headers: Record<string, string> = {
        ...this.options.headers,
        accept: 'text/event-stream',
      };
      if (this.parser.lastId) headers['last-event-id'] = this.parser.lastId;
      touch();
      const response = await fetch(this.options.url, {
        headers,
        signal: controller.signal,
        cache: 'no-store',
      });
      if (!response.ok) {
        const error = await errorFrom(response);
        // A refusal will not change by retrying: say so and stop.
        if (response.status >= 400 && response.status < 500) {
          this.closed = true;
          this.options.onState('failed', error.message);
          return;
        }
        throw error;
      }
      if (!response.body) throw new Error('the response has no body');
      this.options.onState('live', '');
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        touch();
        this.parser.feed(value, (m) => {
          if (!this.closed) this.options.onMessage(m);
        });
      }
      why = 'the server closed the stream';
    } catch (e) {
      why = e instanceof Error ? e.message : String(e);
    } finally {
      if (idle) clearTimeout(idle);
    }
    if (this.closed) return;
    this.options.onState('reconnecting', why);
    this.timer = setTimeout(() => void this.connect(), this.parser.retryMs ?? 1000);
  }
}
