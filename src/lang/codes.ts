// The registry of diagnostic codes: the one place each code, its severity and its meaning live.
// docs/diagnostics.md is generated from this table (`npm run docs`); a test keeps them equal.

export interface CodeInfo {
  readonly severity: 'error' | 'warning';
  /** A short title for the kind of problem. */
  readonly title: string;
  /** What it means and how to fix it, for the documentation. */
  readonly explanation: string;
  /** A small file that triggers it. */
  readonly example?: string;
}

export const CODES = {
  // ------------------------------------------------------------ lexical
  E0101: {
    severity: 'error',
    title: 'unterminated string',
    explanation: "A string has no closing quote. Single- and double-quoted strings end on the line they start; use '''…''' or \"\"\"…\"\"\" for several lines.",
    example: "pipeline {\n  steps { sh 'make test }\n}",
  },
  E0102: {
    severity: 'error',
    title: 'unterminated block comment',
    explanation: 'A `/*` comment has no closing `*/`. Block comments do not nest: the first `*/` closes the comment.',
    example: '/* note\npipeline { }',
  },
  E0103: {
    severity: 'error',
    title: 'invalid escape',
    explanation: 'Double-quoted strings know `\\n \\t \\r \\\\ \\" \\$` and `\\u{…}`. Single-quoted strings keep backslashes as written, so shell text is usually best in single quotes.',
    example: 'pipeline {\n  steps { echo "C:\\dir" }\n}',
  },
  E0104: {
    severity: 'error',
    title: 'unexpected character',
    explanation: 'A character that cannot start any token, such as `#`, `;` or a backtick, stands outside a string or comment.',
    example: '# comment\npipeline { }',
  },
  E0105: {
    severity: 'error',
    title: 'invalid interpolation',
    explanation: 'A `${` in a double-quoted string is not closed, or is empty. Write `\\${` for a literal `${`, or use single quotes.',
    example: 'pipeline {\n  steps { echo "v${it" }\n}',
  },
  E0106: {
    severity: 'error',
    title: 'invalid number',
    explanation: "A number runs into letters, as in `10m`. Durations are strings: `'10m'`.",
    example: "pipeline {\n  stage('Build') {\n    timeout = 10m\n    steps { sh 'make' }\n  }\n}",
  },
  // ------------------------------------------------------------ syntax
  E0201: {
    severity: 'error',
    title: 'unexpected token',
    explanation: 'The parser expected one thing and found another. The message names both; the parser then skips to the next statement and goes on, so every independent problem is reported in one run.',
    example: "pipeline {\n  stage('Build') {\n    name 'Build'\n    steps { sh 'make' }\n  }\n}",
  },
  E0202: {
    severity: 'error',
    title: 'unknown keyword',
    explanation: 'A block or item name is not one this place allows. The hint suggests the nearest keyword, or lists the valid ones.',
    example: "pipeline {\n  stges {\n  }\n}",
  },
  E0203: {
    severity: 'error',
    title: 'unexpected top-level item',
    explanation: 'Only `use`, `configure`, `environments`, `pipeline` and `blueprint` blocks may stand at the top level. Anything after the last block is also reported here.',
    example: "pipeline { }\nsh 'make'",
  },
  E0204: {
    severity: 'error',
    title: 'duplicate top-level block',
    explanation: 'A file holds at most one each of `use`, `configure` and `environments`, and exactly one `pipeline` or `blueprint`.',
    example: 'pipeline { }\npipeline { }',
  },
  E0205: {
    severity: 'error',
    title: 'no pipeline',
    explanation: 'The file has neither a `pipeline` nor a `blueprint` block, so there is nothing to run. `pipeline { }` is the smallest valid file.',
    example: '// nothing here',
  },
  E0206: {
    severity: 'error',
    title: 'pipeline and blueprint in one file',
    explanation: 'A file is either a pipeline or a blueprint. Move the blueprint to its own file and `use` it.',
    example: 'pipeline { }\nblueprint { }',
  },
  E0207: {
    severity: 'error',
    title: 'positional argument after a keyword argument',
    explanation: "A step's positional arguments come first, then its keyword arguments (`name: value`): `archive 'dist/**', name: 'site'`. A positional argument after a keyword argument is ambiguous; name it.",
    example: "pipeline {\n  steps { git url: 'https://example.com/x.git', 'main' }\n}",
  },
  E0208: {
    severity: 'error',
    title: 'unclosed block',
    explanation: "A `{` has no matching `}` before the end of the file. The diagnostic points at the opening brace.",
    example: "pipeline {\n  stage('Build') {\n    steps { sh 'make' }\n}",
  },
  E0209: {
    severity: 'error',
    title: "unmatched '}'",
    explanation: "A `}` closes nothing.",
    example: 'pipeline { }\n}',
  },
  // ------------------------------------------------------------ settings and values
  E0301: {
    severity: 'error',
    title: 'unknown setting',
    explanation: 'A setting name is not known in this block. The hint suggests the nearest valid setting or lists them.',
    example: "pipeline {\n  stage('Build') {\n    timout = '10m'\n    steps { sh 'make' }\n  }\n}",
  },
  E0302: {
    severity: 'error',
    title: 'wrong value type',
    explanation: "A setting or argument has a value of the wrong type, such as a number where a string is needed or a string where an array is needed.",
    example: "pipeline {\n  stage('Build') {\n    retry = 'twice'\n    steps { sh 'make' }\n  }\n}",
  },
  E0303: {
    severity: 'error',
    title: 'duplicate setting or block',
    explanation: 'The same setting is written twice in one block, or a block that may appear once (such as `steps`, `runtime` or `when` in a stage) appears twice.',
    example: "pipeline {\n  stage('Build') {\n    retry = 1\n    retry = 2\n    steps { sh 'make' }\n  }\n}",
  },
  E0304: {
    severity: 'error',
    title: 'invalid duration',
    explanation: "Durations are strings of a number and a unit: `'90s'`, `'10m'`, `'2h'`, `'1d'`, or combined such as `'1h30m'`. Units: ms, s, m, h, d.",
    example: "pipeline {\n  stage('Build') {\n    timeout = '10 minutes'\n    steps { sh 'make' }\n  }\n}",
  },
  E0305: {
    severity: 'error',
    title: 'invalid cron expression',
    explanation: 'A cron trigger has five fields (minute hour day-of-month month day-of-week) with numbers, ranges `a-b`, steps `*/n`, lists `a,b` and names (`jan`, `mon`), or is one of `@hourly @daily @weekly @monthly @yearly`.',
    example: "pipeline {\n  triggers { cron = '0 25 * * *' }\n}",
  },
  E0306: {
    severity: 'error',
    title: 'invalid credential name',
    explanation: 'A credential becomes an environment variable, so its name must be letters, digits and underscores, not starting with a digit.',
    example: "pipeline {\n  stage('Deploy') {\n    credentials = ['deploy-key']\n    steps { sh 'make deploy' }\n  }\n}",
  },
  E0307: {
    severity: 'error',
    title: 'invalid stage name',
    explanation: "A stage name is a segment of its path (`Deploy/Production`), so it must not be empty or contain `/`.",
    example: "pipeline {\n  stage('Build/Test') {\n    steps { sh 'make' }\n  }\n}",
  },
  E0308: {
    severity: 'error',
    title: 'missing required setting',
    explanation: "A block needs a setting that is missing, such as `image` in `docker { }` or `url` in `poll { }`.",
    example: "pipeline {\n  stage('Build') {\n    runtime { docker { } }\n    steps { sh 'make' }\n  }\n}",
  },
  E0309: {
    severity: 'error',
    title: 'invalid value',
    explanation: "A value has the right type but is not allowed, such as a negative `retry`, a `save` mode other than `'success'` and `'always'`, or a workspace path (archive, unarchive into, dir, cache paths) that is absolute or climbs out with `..`.",
    example: "pipeline {\n  stage('Build') {\n    retry = -1\n    steps { sh 'make' }\n  }\n}",
  },
  // ------------------------------------------------------------ steps
  E0401: {
    severity: 'error',
    title: 'unknown step',
    explanation: 'No standard step and no step library in `use` defines this symbol. The hint suggests the nearest one.',
    example: "pipeline {\n  steps { shell 'make' }\n}",
  },
  E0402: {
    severity: 'error',
    title: 'missing step argument',
    explanation: "A required argument of a step is missing: `sh` needs a script, `archive` a pattern, `input` a question.",
    example: 'pipeline {\n  steps { sh }\n}',
  },
  E0403: {
    severity: 'error',
    title: 'unknown step argument',
    explanation: 'A keyword argument is not a parameter of this step.',
    example: "pipeline {\n  steps { git url: 'https://example.com/x.git', brnch: 'main' }\n}",
  },
  E0404: {
    severity: 'error',
    title: 'too many arguments',
    explanation: 'A step received more positional arguments than it takes. Name the others with `name: value`.',
    example: "pipeline {\n  steps { sh 'make', 'test' }\n}",
  },
  E0405: {
    severity: 'error',
    title: 'misplaced block',
    explanation: "A step was given a `{ … }` block it does not take, or a block step such as `dir` has none.",
    example: "pipeline {\n  steps { dir 'web' }\n}",
  },
  E0406: {
    severity: 'error',
    title: 'step not allowed here',
    explanation: "Some steps only make sense in one place: `input`, `webhook` and `poll` are gates and belong in `gates { enter { … } }` or `exit { … }`; a gate holds only those.",
    example: "pipeline {\n  steps { input 'Ship it?' }\n}",
  },
  // ------------------------------------------------------------ structure
  E0501: {
    severity: 'error',
    title: 'empty steps block',
    explanation: '`steps { }` holds no step. Add a step or remove the block.',
    example: "pipeline {\n  stage('Build') {\n    steps { }\n  }\n}",
  },
  E0502: {
    severity: 'error',
    title: 'stage with nothing to do',
    explanation: 'A stage has no steps, no nested stages and no gates. A stage holding only an `input` gate is a valid approval stage.',
    example: "pipeline {\n  stage('Build') {\n    timeout = '1h'\n  }\n}",
  },
  E0503: {
    severity: 'error',
    title: 'duplicate stage name',
    explanation: 'Two sibling stages have the same name (after `each` expansion), so their paths would clash.',
    example: "pipeline {\n  stage('Build') { steps { sh 'a' } }\n  stage('Build') { steps { sh 'b' } }\n}",
  },
  E0504: {
    severity: 'error',
    title: 'unknown runtime',
    explanation: 'A runtime block is not one of `local`, `sandbox`, `docker`, `computer`, `kubernetes` or `microvm`.',
    example: "pipeline {\n  stage('Build') {\n    runtime { dockr { image = 'node' } }\n    steps { sh 'make' }\n  }\n}",
  },
  E0505: {
    severity: 'error',
    title: 'more than one runtime',
    explanation: 'A `runtime { }` block holds exactly one runtime or one `from`.',
    example: "pipeline {\n  stage('Build') {\n    runtime { local { } docker { image = 'x' } }\n    steps { sh 'make' }\n  }\n}",
  },
  E0506: {
    severity: 'error',
    title: 'empty block',
    explanation: 'A block that must hold something is empty: `runtime { }`, `gates { }`, `when { }`, `notify { }`, `cache { }` or `each()` with no values.',
    example: "pipeline {\n  stage('Build') {\n    when { }\n    steps { sh 'make' }\n  }\n}",
  },
  // ------------------------------------------------------------ references
  E0601: {
    severity: 'error',
    title: 'unknown stage',
    explanation: "A `from 'Name'` names no stage. Stages are found by unique name anywhere, or by path such as `Deploy/Production`.",
    example: "pipeline {\n  stage('Build') { steps { sh 'make' } }\n  stage('Test') {\n    runtime { from 'Biuld' }\n    steps { sh 'make test' }\n  }\n}",
  },
  E0602: {
    severity: 'error',
    title: 'ambiguous stage reference',
    explanation: "A `from 'Name'` matches several stages. Use the stage's full path.",
    example: "pipeline {\n  stage('A') { stage('Build') { steps { sh 'a' } } }\n  stage('B') { stage('Build') { steps { sh 'b' } } }\n  stage('C') {\n    runtime { from 'Build' }\n    steps { sh 'c' }\n  }\n}",
  },
  E0603: {
    severity: 'error',
    title: 'unknown environment',
    explanation: '`environment -> NAME` names an environment that no `environments { }` block declares.',
    example: "pipeline {\n  stage('Deploy') {\n    environment -> production\n    steps { sh 'make deploy' }\n  }\n}",
  },
  E0604: {
    severity: 'error',
    title: 'undeclared cache',
    explanation: '`cache { use NAME }` restores a cache that no stage declares.',
    example: "pipeline {\n  stage('Test') {\n    cache { use gems }\n    steps { sh 'make test' }\n  }\n}",
  },
  E0605: {
    severity: 'error',
    title: 'unknown blueprint',
    explanation: "`from 'NAME'` in a pipeline names no blueprint that `use` brings in. A blueprint is known by its `use` entry, its `as` alias, its file name without extension, or its `name` setting.",
    example: "pipeline {\n  from 'rubygem'\n}",
  },
  E0606: {
    severity: 'error',
    title: 'library not found',
    explanation: 'A local `use` entry names a path that does not exist, or that holds neither a blueprint nor a step library.',
    example: "use { './blueprints/missing' }\npipeline { }",
  },
  E0607: {
    severity: 'error',
    title: 'unknown name',
    explanation: "An expression refers to a name that is not known at plan time. Known names: `it` and `each … as` variables, `vars.NAME`, `env.NAME`, `run.branch`, `run.tag`, `run.event`, `run.sha`, `run.project`, and `branch`, `tag`, `event`. Shell variables belong in single-quoted strings: `sh 'echo ${HOME}'`.",
    example: "pipeline {\n  steps { sh \"echo ${HOME}\" }\n}",
  },
  E0608: {
    severity: 'error',
    title: 'unknown function',
    explanation: 'Plan-time functions are `concat`, `changed`, `lower`, `upper`, `join` and `basename`.',
    example: "pipeline {\n  stage {\n    name = concatenate('a', 'b')\n    steps { sh 'make' }\n  }\n}",
  },
  E0609: {
    severity: 'error',
    title: 'wrong function arguments',
    explanation: 'A plan-time function received the wrong number or type of arguments.',
    example: "pipeline {\n  each(changed()) {\n    stage { name = it\n steps { sh 'make' } }\n  }\n}",
  },
  E0610: {
    severity: 'error',
    title: 'stage reference out of order',
    explanation: "`from 'X'` must name a stage that has finished before this one starts: an earlier stage, or an enclosing one — not the stage itself, a later stage, or a stage running in parallel with it.",
    example: "pipeline {\n  stage('Test') {\n    runtime { from 'Build' }\n    steps { sh 'make test' }\n  }\n  stage('Build') { steps { sh 'make' } }\n}",
  },
  E0611: {
    severity: 'error',
    title: 'library not pinned',
    explanation: 'A remote `use` entry has no pin in `otto.lock`, or its pin does not match the cached content. Run `otto lock` to fetch and pin it; check, explain and run never touch the network.',
    example: "use { 'https://example.com/lib.tar.gz' }\npipeline { }",
  },
  E0612: {
    severity: 'error',
    title: 'duplicate library name',
    explanation: 'Two `use` entries are known by the same name (an `as` alias, or a blueprint that `from` cannot tell apart from another). Give one of them another name with `as`.',
  },
  E0613: {
    severity: 'error',
    title: 'invalid library',
    explanation: 'A step library or blueprint file could not be read: an `otto-step.json` is malformed, or a blueprint file has errors (reported in that file too).',
  },
  E0614: {
    severity: 'error',
    title: 'circular use',
    explanation: 'Blueprints use each other in a cycle.',
  },
  // ------------------------------------------------------------ blueprints and vars
  E0701: {
    severity: 'error',
    title: 'invalid var declaration',
    explanation: "A blueprint var has an unknown property, or a `type` other than `string`, `boolean`, `number` or `array`.",
    example: "blueprint {\n  vars {\n    version { type text }\n  }\n  steps { sh 'make' }\n}",
  },
  E0702: {
    severity: 'error',
    title: 'default does not match type',
    explanation: "A blueprint var's `default` is not of its declared `type`.",
    example: "blueprint {\n  vars {\n    deploy { type boolean\n default 'yes' }\n  }\n  steps { sh 'make' }\n}",
  },
  E0703: {
    severity: 'error',
    title: 'missing required var',
    explanation: "A blueprint var without a default must be given in `from 'name' { var = value }`.",
  },
  E0704: {
    severity: 'error',
    title: 'unknown var',
    explanation: "`from 'name' { … }` sets a var that the blueprint does not declare.",
  },
  E0705: {
    severity: 'error',
    title: 'var value does not match type',
    explanation: "A value given for a blueprint var is not of the var's declared type.",
  },
  // ------------------------------------------------------------ warnings
  W0101: {
    severity: 'warning',
    title: 'unknown event',
    explanation: "A condition compares `event` with a value that no trigger produces. Events are `push`, `pull_request`, `tag`, `cron`, `manual` and `api`.",
    example: "pipeline {\n  stage('Deploy') {\n    when { event == 'psuh' }\n    steps { sh 'make deploy' }\n  }\n}",
  },
  W0102: {
    severity: 'warning',
    title: 'condition is never true',
    explanation: 'A condition can never hold, such as `branch == \'a\' && branch == \'b\'`. The stage will always be skipped.',
    example: "pipeline {\n  stage('Deploy') {\n    when { branch == 'main' && branch == 'release' }\n    steps { sh 'make deploy' }\n  }\n}",
  },
  W0103: {
    severity: 'warning',
    title: 'unused declaration',
    explanation: 'An environment is declared but no stage deploys to it.',
    example: "environments { staging { } }\npipeline {\n  steps { sh 'make' }\n}",
  },
  W0104: {
    severity: 'warning',
    title: 'duplicate credential',
    explanation: 'The same credential is listed twice.',
    example: "pipeline {\n  stage('Deploy') {\n    credentials = ['KEY', 'KEY']\n    steps { sh 'make deploy' }\n  }\n}",
  },
  W0105: {
    severity: 'warning',
    title: 'unreachable step',
    explanation: 'A step follows `error`, which always fails the stage, so it never runs.',
    example: "pipeline {\n  steps {\n    error 'stop'\n    sh 'make'\n  }\n}",
  },
  W0106: {
    severity: 'warning',
    title: 'parallel with one branch',
    explanation: 'A `parallel { }` block with fewer than two children runs nothing in parallel.',
    example: "pipeline {\n  parallel {\n    stage('A') { steps { sh 'a' } }\n  }\n}",
  },
  W0107: {
    severity: 'warning',
    title: 'retrying a deployment',
    explanation: 'A stage that deploys to an environment has `retry`: a half-applied deployment is retried without a person looking. Make the deployment idempotent, or remove `retry`.',
    example: "environments { production { } }\npipeline {\n  stage('Deploy') {\n    environment -> production\n    retry = 2\n    steps { sh 'make deploy' }\n  }\n}",
  },
  W0108: {
    severity: 'warning',
    title: 'shell variable in a double-quoted string',
    explanation: "A double-quoted `sh` script holds `$NAME`. It reaches the shell, but a later edit to `${NAME}` would turn it into a plan-time interpolation. Single quotes keep shell text literal.",
    example: "pipeline {\n  steps { sh \"echo $HOME\" }\n}",
  },
  W0109: {
    severity: 'warning',
    title: 'step sketch',
    explanation: 'A 2019-era `step { }` sketch declares a step but not how to run it, so it is ignored. Define runnable steps with an `otto-step.json` in a step library (see docs/language.md).',
    example: 'step {\n  vars { }\n}',
  },
  W0110: {
    severity: 'warning',
    title: 'each over one value',
    explanation: '`each` expands to a single copy, so it is not needed.',
    example: "pipeline {\n  each('linux') {\n    stage { name = it\n steps { sh 'make' } }\n  }\n}",
  },
  W0111: {
    severity: 'warning',
    title: 'large retry count',
    explanation: 'A `retry` above 5 usually hides a flaky step rather than fixing it.',
    example: "pipeline {\n  stage('Test') {\n    retry = 10\n    steps { sh 'make test' }\n  }\n}",
  },
  W0112: {
    severity: 'warning',
    title: 'gate timeout longer than a week',
    explanation: 'A wait longer than a week is usually a mistake in the unit.',
    example: "pipeline {\n  stage('Ship') {\n    gates { enter { input 'Ship?', timeout: '30d' } }\n  }\n}",
  },
} as const satisfies Record<string, CodeInfo>;

export type DiagnosticCode = keyof typeof CODES;

export const ALL_CODES = Object.keys(CODES).sort() as DiagnosticCode[];
