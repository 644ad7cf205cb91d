// Zero configuration: the obvious pipeline for a Node, Go, Rust, Python or Make project.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { format, parse, SourceFile } from '../lang/index.js';

export interface Inferred {
  /** What kind of project it looked like, and the file that said so. */
  readonly kind: 'node' | 'go' | 'rust' | 'python' | 'make';
  readonly evidence: string;
  readonly text: string;
}

const NPM_DEFAULT_TEST = 'echo "Error: no test specified" && exit 1';

export function inferPipeline(dir: string): Inferred | undefined {
  const has = (f: string): boolean => existsSync(join(dir, f));
  if (has('package.json')) return node(dir);
  if (has('go.mod')) return { kind: 'go', evidence: 'go.mod', text: go() };
  if (has('Cargo.toml')) return { kind: 'rust', evidence: 'Cargo.toml', text: rust(has('Cargo.lock')) };
  for (const f of ['pyproject.toml', 'setup.py', 'requirements.txt']) if (has(f)) return { kind: 'python', evidence: f, text: python(dir) };
  for (const f of ['Makefile', 'makefile', 'GNUmakefile']) if (has(f)) return { kind: 'make', evidence: f, text: make(join(dir, f)) };
  return undefined;
}

function header(kind: string, evidence: string): string {
  return `// Inferred by Otto for a ${kind} project (from ${evidence}). Edit freely.\n\n`;
}

function stage(name: string, script: string, from?: string, extra: string[] = []): string {
  const lines = [`  stage('${name}') {`];
  if (from) lines.push(`    runtime { from '${from}' }`);
  lines.push(...extra.map((e) => `    ${e}`));
  lines.push(`    steps { sh '${script.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}' }`, '  }');
  return lines.join('\n');
}

function parallel(stages: string[]): string {
  if (stages.length === 1) return stages[0] as string;
  return ['  parallel {', ...stages.map((s) => s.replace(/^/gm, '  ')), '  }'].join('\n');
}

function pipeline(kind: string, evidence: string, parts: string[]): string {
  const text = `${header(kind, evidence)}pipeline {\n${parts.join('\n\n')}\n}\n`;
  // Written in the canonical form, so `otto fmt --check` passes on a fresh `otto init`.
  return format(parse(new SourceFile('Ottofile', text)).file);
}

function node(dir: string): Inferred {
  let scripts: Record<string, string> = {};
  try {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
    scripts = pkg.scripts ?? {};
  } catch {
    scripts = {};
  }
  const has = (f: string): boolean => existsSync(join(dir, f));
  // The package manager's download cache lives in the workspace and is what Otto caches:
  // node_modules would be wiped by a frozen install anyway, the downloads are what is slow.
  const [install, lock, run, downloads] = has('pnpm-lock.yaml')
    ? ['pnpm install --frozen-lockfile --store-dir .pnpm-store', 'pnpm-lock.yaml', 'pnpm run', '.pnpm-store/']
    : has('yarn.lock')
      ? ['yarn install --frozen-lockfile --cache-folder .yarn-cache', 'yarn.lock', 'yarn run', '.yarn-cache/']
      : has('package-lock.json')
        ? ['npm ci --cache .npm --prefer-offline', 'package-lock.json', 'npm run', '.npm/']
        : ['npm install --cache .npm --prefer-offline', '', 'npm run', '.npm/'];
  const declared = lock ? `packages { paths = ['${downloads}'] key = '${lock}' }` : `packages = ['${downloads}']`;
  const cache = [`cache {\n      ${declared}\n      use packages\n    }`];
  const parts = [stage('Install', install, undefined, cache)];
  const checks = ['lint', 'typecheck'].filter((s) => scripts[s]).map((s) => stage(s === 'lint' ? 'Lint' : 'Typecheck', `${run} ${s}`, 'Install'));
  if (scripts.test && scripts.test !== NPM_DEFAULT_TEST) checks.push(stage('Test', `${run} test`, 'Install'));
  if (checks.length) parts.push(parallel(checks));
  if (scripts.build) parts.push(stage('Build', `${run} build`, 'Install'));
  return { kind: 'node', evidence: 'package.json', text: pipeline('Node', 'package.json', parts) };
}

function go(): string {
  return pipeline('Go', 'go.mod', [stage('Build', 'go build ./...'), parallel([stage('Vet', 'go vet ./...', 'Build'), stage('Test', 'go test ./...', 'Build')])]);
}

function rust(locked: boolean): string {
  const flag = locked ? ' --locked' : '';
  return pipeline('Rust', 'Cargo.toml', [stage('Build', `cargo build${flag}`), stage('Test', `cargo test${flag}`, 'Build')]);
}

function python(dir: string): string {
  const has = (f: string): boolean => existsSync(join(dir, f));
  const evidence = has('pyproject.toml') ? 'pyproject.toml' : has('setup.py') ? 'setup.py' : 'requirements.txt';
  const install = has('requirements.txt') ? 'python3 -m pip install -r requirements.txt' : 'python3 -m pip install -e .';
  return pipeline('Python', evidence, [stage('Install', install), stage('Test', 'python3 -m pytest', 'Install')]);
}

function make(file: string): string {
  const text = readFileSync(file, 'utf8');
  const targets = new Set([...text.matchAll(/^([A-Za-z0-9_.-]+)\s*:(?!=)/gm)].map((m) => m[1] as string));
  const parts = [stage('Build', 'make')];
  const checks = ['test', 'check'].filter((t) => targets.has(t)).map((t) => stage(t === 'test' ? 'Test' : 'Check', `make ${t}`, 'Build'));
  if (checks.length) parts.push(parallel(checks));
  return pipeline('Make', file.split('/').pop() ?? 'Makefile', parts);
}
