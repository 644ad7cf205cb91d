// A loopback HTTP listener for webhook callbacks while `otto run` waits: POST
// /api/v1/callbacks/TOKEN with {"status": "success" | "failure", "message"?}.

import { createServer, type Server } from 'node:http';
import type { Store } from '../../store/store.js';
import { acceptCallback } from './callbacks.js';

const MAX_BODY = 64 * 1024;

export class CallbackServer {
  private server: Server | undefined;
  private port = 0;

  constructor(
    private readonly store: Store,
    private readonly onAccepted: () => void,
  ) {}

  /** Starts listening (once) and returns the base URL. */
  async url(): Promise<string> {
    if (!this.server) {
      const server = createServer((req, res) => {
        const m = /^\/api\/v1\/callbacks\/([A-Za-z0-9_-]+)$/.exec(req.url ?? '');
        const reply = (status: number, body: unknown): void => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(body));
        };
        if (!m || req.method !== 'POST') return reply(404, { error: { code: 'not_found', message: 'POST /api/v1/callbacks/TOKEN' } });
        const chunks: Buffer[] = [];
        let size = 0;
        req.on('data', (c: Buffer) => {
          size += c.length;
          if (size <= MAX_BODY) chunks.push(c);
        });
        req.on('end', () => {
          if (size > MAX_BODY) return reply(413, { error: { code: 'too_large', message: `the body is over ${MAX_BODY} bytes` } });
          let body: unknown;
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
          } catch {
            return reply(400, { error: { code: 'bad_json', message: 'the body is not JSON' } });
          }
          void acceptCallback(this.store, m[1] as string, (body ?? {}) as Record<string, unknown>, `callback from ${req.socket.remoteAddress ?? 'unknown'}`, Date.now()).then(
            (r) => {
              if (r.ok) {
                this.onAccepted();
                reply(200, { ok: true, run: r.runId, stage: r.stage, decision: r.decision });
              } else reply(r.status, { error: { code: r.code, message: r.message } });
            },
            (e: Error) => reply(500, { error: { code: 'internal', message: e.message } }),
          );
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      this.port = (server.address() as { port: number }).port;
      server.unref();
      this.server = server;
    }
    return `http://127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
