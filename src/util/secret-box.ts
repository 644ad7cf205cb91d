// Secrets at rest: AES-256-GCM with a key kept in its own file, apart from the store, so a copy
// of the database alone reveals nothing. The name a secret is stored under is authenticated too.

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

const VERSION = 'v1';

/** `$OTTO_SECRET_KEY_FILE`, else `$XDG_CONFIG_HOME/otto/secret.key`, else `~/.config/otto/secret.key`. */
export function defaultKeyFile(): string {
  if (process.env.OTTO_SECRET_KEY_FILE) return process.env.OTTO_SECRET_KEY_FILE;
  const base = process.env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'otto', 'secret.key');
}

export class SecretKeyError extends Error {}

/** Reads the key; with `create`, makes one (mode 0600) when there is none. */
export function loadKey(file: string, create: boolean): Buffer {
  if (!existsSync(file)) {
    if (!create) throw new SecretKeyError(`the secret key ${file} does not exist`);
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(file, 0o600);
  }
  const hex = readFileSync(file, 'utf8').trim();
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new SecretKeyError(`${file} is not an Otto secret key (64 hex digits)`);
  return Buffer.from(hex, 'hex');
}

export function seal(key: Buffer, scope: string, value: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(scope));
  const data = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
  return [VERSION, iv.toString('base64'), data.toString('base64'), cipher.getAuthTag().toString('base64')].join(':');
}

/** The value, or undefined when the sealed text was made with another key or for another name. */
export function open(key: Buffer, scope: string, sealed: string): string | undefined {
  const [v, iv, data, tag] = sealed.split(':');
  if (v !== VERSION || !iv || data === undefined || !tag) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'));
    decipher.setAAD(Buffer.from(scope));
    decipher.setAuthTag(Buffer.from(tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(data, 'base64')), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}

export function secretScope(project: string, environment: string, name: string): string {
  return `${project}\0${environment}\0${name}`;
}
