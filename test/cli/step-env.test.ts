// OTTO_STEP_ENV: the variables of otto's environment that steps start with too. Steps never inherit
// the whole environment; the ones named here (a proxy, a certificate bundle) join what they get.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { project } from './run-helpers.js';

const SHOW = `pipeline {
  stage('Show') {
    steps { sh 'echo "proxy=\${MY_PROXY:-unset} ca=\${NODE_EXTRA_CA_CERTS:-unset} other=\${MY_OTHER:-unset}"' }
  }
}
`;

describe('OTTO_STEP_ENV', () => {
  it('steps start with the variables it names, and not with the others', (t) => {
    const p = project(t, SHOW);
    Object.assign(p.env, { MY_PROXY: 'http://proxy.example:3128', NODE_EXTRA_CA_CERTS: '/etc/company-ca.pem', MY_OTHER: 'not passed', OTTO_STEP_ENV: 'MY_PROXY, NODE_EXTRA_CA_CERTS,NOT_SET' });
    const r = p.otto(['run']);
    assert.equal(r.code, 0, r.stderr);
    // NODE_EXTRA_CA_CERTS reaches the step as the user set it, although bin/otto keeps it from Node.
    assert.match(r.stdout, /proxy=http:\/\/proxy\.example:3128 ca=\/etc\/company-ca\.pem other=unset/);
  });

  it('without it, steps get none of them', (t) => {
    const p = project(t, SHOW);
    Object.assign(p.env, { MY_PROXY: 'http://proxy.example:3128', NODE_EXTRA_CA_CERTS: '/etc/company-ca.pem', OTTO_STEP_ENV: undefined });
    const r = p.otto(['run']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /proxy=unset ca=unset other=unset/);
  });

  it('a name that is not a variable name is a usage error, before anything runs', (t) => {
    const p = project(t, SHOW);
    p.env.OTTO_STEP_ENV = 'MY_PROXY;rm -rf';
    const r = p.otto(['run']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /OTTO_STEP_ENV names 'MY_PROXY;rm', which is not a variable name/);
    assert.match(r.stderr, /list variable names separated by commas, such as OTTO_STEP_ENV=HTTPS_PROXY,NO_PROXY,NODE_EXTRA_CA_CERTS/);
    assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace');
    assert.equal(existsSync(join(p.dir, '.otto', 'otto.db')), false, 'nothing was recorded, not even a store');
  });
});
