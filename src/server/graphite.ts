// Graphite plaintext export: `prefix.name value timestamp` lines to TCP 2003 every interval. It
// never blocks a run: a slow or absent receiver only loses that interval's numbers.

import { createConnection } from 'node:net';
import type { Metrics } from './metrics.js';

export function startGraphite(target: string, prefix: string, metrics: Metrics, intervalMs: number, log: (m: string) => void): () => void {
  const m = /^([^:]+):(\d+)$/.exec(target);
  if (!m) throw new Error(`--graphite '${target}' is not host:port`);
  const host = m[1] as string;
  const port = Number(m[2]);
  let warned = false;
  const send = async (): Promise<void> => {
    const ts = Math.floor(Date.now() / 1000);
    const lines = (await metrics.snapshot()).map(([name, value]) => `${prefix}.${name} ${value} ${ts}\n`).join('');
    const socket = createConnection({ host, port });
    socket.setTimeout(2000, () => socket.destroy());
    socket.on('error', (e) => {
      if (!warned) log(`graphite export to ${target} failed: ${e.message} (retrying quietly)`);
      warned = true;
    });
    socket.on('connect', () => {
      warned = false;
      socket.end(lines);
    });
  };
  const timer = setInterval(() => void send(), intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
