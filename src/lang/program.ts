// Loads a pipeline file and everything its `use` entries bring in: blueprints and step libraries.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Blueprint, OttoFile, Setting, StringLit, UseEntry } from './ast.js';
import { DiagnosticBag, type Diagnostic } from './diagnostics.js';
import { parse } from './parser/index.js';
import { SourceFile } from './source.js';
import { STANDARD_STEPS } from './schema/steps.js';
import type { ParamSpec, ParamType, StepSpec } from './schema/types.js';

export interface BlueprintUnit {
  readonly file: OttoFile;
  readonly decl: Blueprint;
  /** The names `from '…'` may use for it. */
  readonly names: readonly string[];
  readonly entry: UseEntry;
}

export interface LibraryUnit {
  readonly entry: UseEntry;
  readonly dir: string;
  readonly steps: readonly StepSpec[];
}

/** Where a remote `use` entry lives on disk once `otto lock` has fetched and pinned it. */
export type RemoteResolver = (url: string) => { path: string } | { error: string; help: string };

export interface Program {
  readonly main: OttoFile;
  /** Every parsed file: the main file first, then blueprints in load order. */
  readonly files: readonly OttoFile[];
  /** Blueprints visible from each file, by the file's path. */
  readonly blueprintsByFile: ReadonlyMap<string, readonly BlueprintUnit[]>;
  readonly libraries: readonly LibraryUnit[];
  /** The standard steps and every library step, by symbol. */
  readonly steps: ReadonlyMap<string, StepSpec>;
  /** Syntax errors of every file. */
  readonly diagnostics: readonly Diagnostic[];
  /** Problems resolving `use` entries (the check goes on after these). */
  readonly loadDiagnostics: readonly Diagnostic[];
}

export interface LoadOptions {
  /** The main file's text when it does not come from disk (stdin). */
  readonly text?: string;
  readonly resolveRemote?: RemoteResolver;
}

const REMOTE = /^(https?:\/\/|git\+https?:\/\/|git\+file:\/\/|file:\/\/)/;

export function isRemoteUse(source: string): boolean {
  return REMOTE.test(source);
}

export function loadProgram(mainPath: string, options: LoadOptions = {}): Program {
  const text = options.text ?? readFileSync(mainPath, 'utf8');
  return new Loader(options).load(new SourceFile(mainPath, text));
}

export function loadProgramFromSource(source: SourceFile, options: LoadOptions = {}): Program {
  return new Loader(options).load(source);
}

class Loader {
  private readonly bag = new DiagnosticBag();
  private readonly diagnostics: Diagnostic[] = [];
  private readonly files: OttoFile[] = [];
  private readonly parsed = new Map<string, OttoFile>();
  private readonly blueprintsByFile = new Map<string, BlueprintUnit[]>();
  private readonly libraries: LibraryUnit[] = [];
  private readonly steps = new Map<string, StepSpec>(STANDARD_STEPS.map((s) => [s.name, s]));

  constructor(private readonly options: LoadOptions) {}

  load(source: SourceFile): Program {
    const main = this.parseFile(source);
    this.resolveUses(main, [resolve(source.path)]);
    return {
      main,
      files: this.files,
      blueprintsByFile: this.blueprintsByFile,
      libraries: this.libraries,
      steps: this.steps,
      diagnostics: this.diagnostics,
      loadDiagnostics: this.bag.items,
    };
  }

  private parseFile(source: SourceFile): OttoFile {
    const r = parse(source);
    this.diagnostics.push(...r.diagnostics);
    this.files.push(r.file);
    this.parsed.set(resolve(source.path), r.file);
    return r.file;
  }

  private resolveUses(file: OttoFile, chain: string[]): void {
    const units: BlueprintUnit[] = [];
    this.blueprintsByFile.set(file.source.path, units);
    for (const item of file.items) {
      if (item.kind !== 'use') continue;
      for (const entry of item.entries) {
        if (entry.source.kind === 'ident') continue; // stdlib
        const text = literal(entry.source);
        if (text === undefined) {
          this.bag.report('E0606', file.source, entry.source.span, 'a use entry must be a plain string', 'remove ${…} from the path');
          continue;
        }
        let path: string;
        if (isRemoteUse(text)) {
          const r = this.options.resolveRemote?.(text) ?? {
            error: `remote library '${text}' is not pinned in otto.lock`,
            help: 'run `otto lock` to fetch it and pin its sha256',
          };
          if ('error' in r) {
            this.bag.report('E0611', file.source, entry.source.span, r.error, r.help);
            continue;
          }
          // A tarball whose root is one directory (release archives often are) means that directory.
          path = singleTopDirectory(r.path);
        } else {
          path = resolve(dirname(file.source.path), text);
        }
        this.resolveLocal(file, entry, text, path, units, chain);
      }
    }
  }

  private resolveLocal(file: OttoFile, entry: UseEntry, text: string, path: string, units: BlueprintUnit[], chain: string[]): void {
    const candidates = /\.(otto|blueprint)$/.test(path) ? [path] : [path, `${path}.otto`, `${path}.blueprint`];
    let found: string | undefined;
    for (const c of candidates) {
      if (isFile(c)) {
        found = c;
        break;
      }
    }
    if (found === undefined && isDir(path)) {
      const lib = this.loadLibrary(file, entry, path);
      if (lib) return;
      // A directory holding one blueprint file is that blueprint.
      const inner = readdirSync(path).filter((n) => /\.(otto|blueprint)$/.test(n)).sort();
      const blueprints = inner.filter((n) => /\bblueprint\s*\{/.test(safeRead(join(path, n))));
      if (blueprints.length === 1) found = join(path, blueprints[0] as string);
      else if (blueprints.length === 0) {
        // A 2019-style folder of step sketches is accepted and adds nothing (see docs/language.md).
        if (inner.length > 0) {
          for (const n of inner) this.parseSketch(join(path, n));
          return;
        }
        this.bag.report('E0606', file.source, entry.source.span, `'${text}' holds no step library (no */otto-step.json) and no blueprint`, 'point use at a blueprint file or at a folder of steps with otto-step.json files');
        return;
      } else {
        this.bag.report('E0606', file.source, entry.source.span, `'${text}' holds several blueprints (${blueprints.join(', ')})`, 'name the blueprint file itself');
        return;
      }
    }
    if (found === undefined) {
      this.bag.report('E0606', file.source, entry.source.span, `library '${text}' not found (looked for ${candidates.map((c) => relativeTo(file, c)).join(', ')})`, 'check the path; local paths are relative to the file that uses them');
      return;
    }
    const abs = resolve(found);
    if (chain.includes(abs)) {
      this.bag.report('E0614', file.source, entry.source.span, `'${text}' is already being loaded: blueprints use each other in a cycle`, 'remove one of the use entries');
      return;
    }
    let bpFile = this.parsed.get(abs);
    if (!bpFile) {
      bpFile = this.parseFile(new SourceFile(relativeLike(file.source.path, found, text), readFileSync(found, 'utf8')));
      this.resolveUses(bpFile, [...chain, abs]);
    }
    const decl = bpFile.items.find((i): i is Blueprint => i.kind === 'blueprint');
    if (!decl) {
      this.bag.report('E0613', file.source, entry.source.span, `'${text}' holds no blueprint { } block`, 'a used .otto file must be a blueprint; pipelines cannot be used');
      return;
    }
    const names = new Set<string>();
    if (entry.alias) names.add(entry.alias.name);
    names.add(text);
    if (!isRemoteUse(text)) names.add(stripExt(basename(text)));
    else names.add(libraryName(text));
    names.add(stripExt(basename(found)));
    const nameSetting = decl.items.find((i): i is Setting => i.kind === 'setting' && i.name.name === 'name');
    if (nameSetting?.value.kind === 'string') {
      const n = literal(nameSetting.value);
      if (n) names.add(n);
    }
    units.push({ file: bpFile, decl, names: [...names], entry });
  }

  private parseSketch(path: string): void {
    const text = safeRead(path);
    const r = parse(new SourceFile(path, text));
    this.diagnostics.push(...r.diagnostics);
  }

  /** A folder whose sub-folders hold otto-step.json files; undefined when it is not one. */
  private loadLibrary(file: OttoFile, entry: UseEntry, dir: string): LibraryUnit | undefined {
    const subdirs = readdirSync(dir).filter((n) => isFile(join(dir, n, 'otto-step.json'))).sort();
    if (subdirs.length === 0) return undefined;
    const steps: StepSpec[] = [];
    const libName = entry.alias?.name ?? (entry.source.kind === 'string' ? libraryName(literal(entry.source) ?? basename(dir)) : basename(dir));
    for (const sub of subdirs) {
      const specPath = join(dir, sub, 'otto-step.json');
      const spec = parseStepManifest(safeRead(specPath), join(dir, sub), libName);
      if (typeof spec === 'string') {
        this.bag.report('E0613', file.source, entry.source.span, `${relativeTo(file, specPath)}: ${spec}`, 'see docs/language.md#step-libraries for the otto-step.json format');
        continue;
      }
      const existing = this.steps.get(spec.name);
      if (existing) {
        const where = existing.library ? `library '${existing.library.name}'` : 'the standard library';
        this.bag.report('E0612', file.source, entry.source.span, `step '${spec.name}' from '${libName}' is already defined by ${where}`, 'rename the step in its otto-step.json');
        continue;
      }
      this.steps.set(spec.name, spec);
      steps.push(spec);
    }
    const unit: LibraryUnit = { entry, dir, steps };
    this.libraries.push(unit);
    return unit;
  }
}

const PARAM_TYPES: Record<string, ParamType> = {
  string: 'string',
  number: 'number',
  integer: 'integer',
  boolean: 'boolean',
  bool: 'boolean',
  array: 'array',
  duration: 'duration',
};

/** Validates an otto-step.json; a string is the problem. */
export function parseStepManifest(text: string, dir: string, libName: string): StepSpec | string {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return `not valid JSON (${(e as Error).message})`;
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return 'must be a JSON object';
  const o = json as Record<string, unknown>;
  if (typeof o.symbol !== 'string' || !/^[A-Za-z_][A-Za-z0-9_-]*$/.test(o.symbol)) return "'symbol' must be a step name such as 'deployHelm'";
  if (typeof o.entrypoint !== 'string' || o.entrypoint === '') return "'entrypoint' must name the program that runs the step";
  if (o.entrypoint.startsWith('/') || o.entrypoint.split('/').includes('..')) return "'entrypoint' must be a path inside the step's folder";
  const params: ParamSpec[] = [];
  const rawParams = o.parameters ?? [];
  if (!Array.isArray(rawParams)) return "'parameters' must be an array";
  for (const [i, p] of rawParams.entries()) {
    if (typeof p !== 'object' || p === null) return `parameters[${i}] must be an object`;
    const q = p as Record<string, unknown>;
    if (typeof q.name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(q.name)) return `parameters[${i}].name must be a name`;
    const type = PARAM_TYPES[String(q.type ?? 'string')];
    if (!type) return `parameters[${i}].type '${String(q.type)}' is not one of string, number, boolean, array, duration`;
    const spec: ParamSpec = {
      name: q.name,
      type,
      description: typeof q.description === 'string' ? q.description : '',
      ...(q.required === true ? { required: true } : {}),
      ...(q.default !== undefined ? { default: JSON.stringify(q.default) } : {}),
    };
    params.push(spec);
  }
  return {
    name: o.symbol,
    description: typeof o.description === 'string' ? o.description : '',
    params,
    positional: params.length > 0 ? 1 : 0,
    block: 'none',
    places: ['steps'],
    example: `${o.symbol}${params[0] ? ` ${params[0].name}: …` : ''}`,
    library: { name: libName, dir, entrypoint: o.entrypoint },
  };
}

/** The text of a string without interpolation, or undefined. */
export function literal(s: StringLit): string | undefined {
  if (s.segments.some((x) => x.kind !== 'text')) return undefined;
  return s.segments.map((x) => (x.kind === 'text' ? x.text : '')).join('');
}

function stripExt(name: string): string {
  return name.replace(/\.(otto|blueprint)$/, '').replace(/\.otto$/, '');
}

function singleTopDirectory(dir: string): string {
  try {
    const entries = readdirSync(dir).filter((n) => !n.startsWith('.'));
    if (entries.length === 1 && isDir(join(dir, entries[0] as string)) && !isFile(join(dir, entries[0] as string, 'otto-step.json'))) {
      return join(dir, entries[0] as string);
    }
  } catch {
    // not a directory: resolved as it is
  }
  return dir;
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function safeRead(p: string): string {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}

/** Shows a path the way the user would write it, relative to the using file's own path. */
function relativeLike(fromPath: string, found: string, text: string): string {
  if (text.startsWith('/')) return found;
  const base = dirname(fromPath);
  const absBase = resolve(base);
  const abs = resolve(found);
  // Outside the using file's directory (a `../x` entry, a remote library in the cache): absolute.
  if (!abs.startsWith(absBase + '/')) return abs;
  const rel = abs.slice(absBase.length + 1);
  return base === '.' ? rel : join(base, rel);
}

/** A short name for a library from its use text: the last path segment without extension. */
function libraryName(text: string): string {
  const git = /^git\+[^#]*?([^/#]+?)(?:\.git)?(?:#[^:]*(?::(.*))?)?$/.exec(text);
  if (git) return (git[2] ? basename(git[2].replace(/\/+$/, '')) : git[1]) ?? text;
  const clean = text.replace(/[?#].*$/, '').replace(/\/+$/, '');
  return basename(clean).replace(/\.(tar\.gz|tgz|tar|otto|blueprint)$/, '');
}

function relativeTo(file: OttoFile, p: string): string {
  const base = resolve(dirname(file.source.path));
  return p.startsWith(base + '/') ? p.slice(base.length + 1) : p;
}

export { existsSync };
