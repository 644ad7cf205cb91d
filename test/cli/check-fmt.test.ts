// `otto check` and `otto fmt` as a user runs them: exit codes, output, JSON, files and stdin.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compatDir, runOtto, tempDir } from '../helpers.js';

test('otto check: 0 for a valid file, with a summary line', () => {
  const r = runOtto(['check', join(compatDir, '2019', 'webapp.otto')]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /webapp\.otto: ok\n$/);
});

test('otto check: 1 with rendered diagnostics for errors', () => {
  const dir = tempDir();
  try {
    writeFileSync(join(dir.path, 'Ottofile'), "pipeline {\n  stage('A') {\n    timout = '1h'\n    steps { sh 'x' }\n  }\n}\n");
    const r = runOtto(['check'], { cwd: dir.path });
    assert.equal(r.code, 1);
    assert.equal(
      r.stdout,
      "Ottofile:3:5: error[E0301]: unknown setting 'timout' in 'stage'\n 3 |     timout = '1h'\n   |     ^^^^^^\n   = help: did you mean 'timeout'?\n\nOttofile: 1 error\n",
    );
  } finally {
    dir.cleanup();
  }
});

test('otto check: warnings alone exit 0', () => {
  const dir = tempDir();
  try {
    writeFileSync(join(dir.path, 'ci.otto'), "pipeline { stage('A') { when { event == 'psuh' } steps { sh 'x' } } }\n");
    const r = runOtto(['check', 'ci.otto'], { cwd: dir.path });
    assert.equal(r.code, 0);
    assert.match(r.stdout, /warning\[W0101\]/);
    assert.match(r.stdout, /ci\.otto: ok \(1 warning\)/);
  } finally {
    dir.cleanup();
  }
});

test('otto check --json prints exactly one JSON object with positions', () => {
  const r = runOtto(['check', '--json', join(compatDir, '2020', 'invalid', '01_missing_steps.otto')]);
  assert.equal(r.code, 1);
  const json = JSON.parse(r.stdout) as { ok: boolean; diagnostics: Array<Record<string, unknown>> };
  assert.equal(json.ok, false);
  assert.equal(json.diagnostics.length, 1);
  const d = json.diagnostics[0] as Record<string, unknown>;
  assert.deepEqual(Object.keys(d).sort(), ['code', 'column', 'endColumn', 'endLine', 'file', 'help', 'line', 'message', 'severity']);
  assert.equal(d.code, 'E0501');
  assert.equal(d.severity, 'error');
  assert.equal(d.line, 5);
  assert.equal(d.column, 13);
  assert.equal(d.endLine, 5);
  assert.equal(d.endColumn, 18);
});

test('otto check: a missing file or a bad flag is a usage error (exit 2), never a stack trace', () => {
  const dir = tempDir();
  try {
    const missing = runOtto(['check'], { cwd: dir.path });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read 'Ottofile': no such file/);
    assert.doesNotMatch(missing.stderr, /at .*\.js:\d+/);
    const flag = runOtto(['check', '--jsn'], { cwd: dir.path });
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /unknown option '--jsn'/);
    assert.match(flag.stderr, /Did you mean --json\?/);
    const cmd = runOtto(['chek'], { cwd: dir.path });
    assert.equal(cmd.code, 2);
    assert.match(cmd.stderr, /Did you mean check\?/);
  } finally {
    dir.cleanup();
  }
});

test('otto --help, otto check --help and otto --version', () => {
  const help = runOtto(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /check \[options\] \[files\.\.\.\]/);
  const checkHelp = runOtto(['check', '--help']);
  assert.equal(checkHelp.code, 0);
  assert.match(checkHelp.stdout, /--json/);
  const version = runOtto(['--version']);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
});

test('otto fmt prints the canonical form; --check and --write; - reads stdin', () => {
  const dir = tempDir();
  try {
    const messy = "pipeline {\n    stage('A') {\n        steps {\n            sh 'x'\n        }\n    }\n}\n";
    const tidy = "pipeline {\n  stage('A') {\n    steps {\n      sh 'x'\n    }\n  }\n}\n";
    writeFileSync(join(dir.path, 'Ottofile'), messy);
    const printed = runOtto(['fmt'], { cwd: dir.path });
    assert.equal(printed.code, 0);
    assert.equal(printed.stdout, tidy);
    const checked = runOtto(['fmt', '--check'], { cwd: dir.path });
    assert.equal(checked.code, 1);
    assert.equal(checked.stdout, 'Ottofile: not formatted\n');
    const written = runOtto(['fmt', '--write'], { cwd: dir.path });
    assert.equal(written.code, 0);
    assert.equal(readFileSync(join(dir.path, 'Ottofile'), 'utf8'), tidy);
    assert.equal(runOtto(['fmt', '--check'], { cwd: dir.path }).code, 0);
    const stdin = runOtto(['fmt', '-'], { cwd: dir.path, input: messy });
    assert.equal(stdin.stdout, tidy);
  } finally {
    dir.cleanup();
  }
});

test('otto fmt refuses a file with syntax errors and leaves it alone', () => {
  const dir = tempDir();
  try {
    writeFileSync(join(dir.path, 'Ottofile'), 'pipeline {\n');
    const r = runOtto(['fmt', '--write'], { cwd: dir.path });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /E0208/);
    assert.equal(readFileSync(join(dir.path, 'Ottofile'), 'utf8'), 'pipeline {\n');
  } finally {
    dir.cleanup();
  }
});
