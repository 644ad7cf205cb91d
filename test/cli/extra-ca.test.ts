// NODE_EXTRA_CA_CERTS without Node's start-up cost (src/util/http-fetch.ts): bin/otto moves it aside,
// and Otto's own HTTPS requests still trust it. Against a real HTTPS server on loopback whose
// certificate is self-signed (made with openssl): a poll gate passes when the certificate is in
// NODE_EXTRA_CA_CERTS and fails naming the certificate when it is not.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { join } from 'node:path';
import { envForOwnNode, restoreExtraCaCerts } from '../../src/util/http-fetch.js';
import { project } from './run-helpers.js';

/** A certificate for 127.0.0.1, signed by itself, and its key, in `dir`. */
function selfSigned(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return { cert, key };
}

async function httpsServer(t: { after: (fn: () => Promise<void>) => void }, files: { cert: string; key: string }): Promise<{ url: string; hits: () => number }> {
  let hits = 0;
  const server = createServer({ cert: readFileSync(files.cert), key: readFileSync(files.key) }, (_req, res) => {
    hits++;
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('status: ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as { port: number };
  return { url: `https://127.0.0.1:${port}/health`, hits: () => hits };
}

const pipeline = (url: string, timeout: string): string => `pipeline {
  stage('Live') {
    gates { exit { poll { url = '${url}' expect = 200 contains = 'ok' interval = '200ms' timeout = '${timeout}' } } }
    steps { sh 'echo "extra=\${NODE_EXTRA_CA_CERTS:-unset} moved=\${OTTO_EXTRA_CA_CERTS:-unset}"' }
  }
}
`;

/**
 * `otto run` of a poll gate on an HTTPS server with a self-signed certificate, with that certificate
 * in NODE_EXTRA_CA_CERTS or without the variable.
 */
async function pollRun(t: Parameters<typeof project>[0] & { after: (fn: () => Promise<void>) => void }, trust: boolean, timeout: string): Promise<{ code: number | null; stdout: string; stderr: string; hits: number }> {
  const p = project(t, '');
  const files = selfSigned(p.scratch);
  const server = await httpsServer(t, files);
  p.write('Ottofile', pipeline(server.url, timeout));
  p.env.OTTO_SECRET_KEY_FILE = join(p.scratch, 'secret.key');
  p.env.NODE_EXTRA_CA_CERTS = trust ? files.cert : undefined;
  const r = await p.start(['run'], { timeoutMs: 60_000 }).done;
  return { ...r, hits: server.hits() };
}

describe('NODE_EXTRA_CA_CERTS', () => {
  it('an HTTPS poll gate trusts the certificate in NODE_EXTRA_CA_CERTS, which bin/otto keeps from Node’s start-up', async (t) => {
    const r = await pollRun(t, true, '30s');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.ok(r.hits >= 1);
    // Steps start from Otto's base environment, which has neither variable; the moved one never leaks.
    assert.match(r.stdout, /moved=unset/);
  });

  it('without the certificate the gate times out naming the certificate problem', async (t) => {
    const r = await pollRun(t, false, '2s');
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /poll of https:\/\/127\.0\.0\.1:\d+\/health timed out; last: .*self[- ]signed certificate/);
  });

  it('restoreExtraCaCerts puts the variable back; envForOwnNode moves it aside for Otto’s own Node processes', () => {
    const env: NodeJS.ProcessEnv = { PATH: '/bin', OTTO_EXTRA_CA_CERTS: '/etc/extra.pem' };
    restoreExtraCaCerts(env);
    assert.deepEqual(env, { PATH: '/bin', NODE_EXTRA_CA_CERTS: '/etc/extra.pem' });
    assert.deepEqual(envForOwnNode(env), { PATH: '/bin', OTTO_EXTRA_CA_CERTS: '/etc/extra.pem' });
    assert.equal(envForOwnNode({ PATH: '/bin' }).OTTO_EXTRA_CA_CERTS, undefined);
  });
});
