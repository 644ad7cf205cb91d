// Callback tokens: what a command line and the callback route accept, every time. Tokens were plain
// base64url, and one in 64 began with '-', which `otto callback TOKEN` read as an option.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashToken, newCallbackToken } from '../../src/engine/gate-host/callbacks.js';

test('a callback token never starts with "-", fits the callback route, and is unique; its hash is of the whole token', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 5000; i++) {
    const { token, hash } = newCallbackToken();
    assert.match(token, /^cb_[A-Za-z0-9_-]{32}$/);
    assert.match(token, /^[A-Za-z0-9_-]{10,200}$/, 'the pattern of POST /api/v1/callbacks/{token}');
    assert.equal(hash, hashToken(token));
    assert.ok(!seen.has(token));
    seen.add(token);
  }
});
