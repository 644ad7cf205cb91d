// `otto secrets set|list|rm`: secrets for this project, encrypted at rest with a key kept apart.

import { readFileSync } from 'node:fs';
import { projectName } from './run.js';
import { defaultKeyFile, loadKey, seal, secretScope, SecretKeyError } from '../../util/secret-box.js';
import { EXIT, UsageError, writeErr, writeOut } from '../io.js';
import { openStore } from '../home.js';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function checkName(name: string): void {
  if (!NAME.test(name)) throw new UsageError(`'${name}' is not a valid secret name`, 'secrets become environment variables: letters, digits and underscores, not starting with a digit');
}

export async function runSecretsSet(name: string, options: { env?: string }): Promise<number> {
  checkName(name);
  if (process.stdin.isTTY) writeErr(`value for ${name} (input is not echoed by your terminal only if you paste it; end with Enter, then Ctrl-D):`);
  let value = readFileSync(0, 'utf8');
  // A trailing newline comes from echo or the terminal, not from the secret.
  value = value.replace(/\r?\n$/, '');
  if (value === '') throw new UsageError(`no value for ${name} on standard input`, `echo -n "$VALUE" | otto secrets set ${name}`);
  const keyFile = defaultKeyFile();
  let key: Buffer;
  try {
    key = loadKey(keyFile, true);
  } catch (e) {
    throw new UsageError((e as Error).message, 'fix or remove the key file (secrets sealed with it become unreadable)');
  }
  const store = openStore(process.cwd(), { create: true });
  try {
    const project = projectName(process.cwd());
    const env = options.env ?? '';
    await store.putSecret(project, env, name, seal(key, secretScope(project, env, name), value), Date.now());
    writeOut(`stored ${name}${env ? ` for environment '${env}'` : ''} (encrypted with ${keyFile})`);
    return EXIT.ok;
  } finally {
    await store.close();
  }
}

export async function runSecretsList(options: { json?: boolean }): Promise<number> {
  const store = openStore(process.cwd(), { create: true });
  try {
    const list = await store.listSecrets(projectName(process.cwd()));
    if (options.json) writeOut(JSON.stringify(list.map((s) => ({ name: s.name, environment: s.environment || null, updatedAt: new Date(s.updatedAt).toISOString() })), null, 2));
    else if (list.length === 0) writeOut('no secrets');
    else for (const s of list) writeOut(`${s.name}${s.environment ? `  (environment ${s.environment})` : ''}  updated ${new Date(s.updatedAt).toISOString().slice(0, 19).replace('T', ' ')}`);
    return EXIT.ok;
  } finally {
    await store.close();
  }
}

export async function runSecretsRm(name: string, options: { env?: string }): Promise<number> {
  checkName(name);
  const store = openStore(process.cwd(), { create: true });
  try {
    const gone = await store.deleteSecret(projectName(process.cwd()), options.env ?? '', name);
    if (!gone) throw new UsageError(`there is no secret ${name}${options.env ? ` for environment '${options.env}'` : ''}`, 'list them with otto secrets list', EXIT.failed);
    writeOut(`removed ${name}`);
    return EXIT.ok;
  } finally {
    await store.close();
  }
}

export { SecretKeyError };
