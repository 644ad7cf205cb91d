// Generated pipelines of a given size for the benchmarks.

/** A realistic pipeline of `stages` stages: settings, several steps, parallel groups, caches, gates. */
export function generatePipeline(stages: number): string {
  const out: string[] = ["environments { staging { settings { URL = 'https://staging.example' } } }", '', 'pipeline {', "  name = 'generated'"];
  let i = 0;
  while (i < stages) {
    if (i % 10 === 5 && i + 4 <= stages) {
      out.push('  parallel {');
      for (let k = 0; k < 4; k++, i++) {
        out.push(`    stage('Group ${i}') {`, "      timeout = '10m'", `      steps { sh 'make part-${i}' }`, '    }');
      }
      out.push('  }');
      continue;
    }
    out.push(`  stage('Stage ${i}') {`);
    out.push("    timeout = '20m'");
    if (i % 7 === 0) out.push(`    cache { deps${i} = ['vendor/${i}/'] }`);
    if (i % 13 === 0) out.push("    when { branch == 'main' || tag =~ 'v*' }");
    if (i % 50 === 49) {
      out.push('    environment -> staging');
      out.push("    gates { enter { input 'Deploy?' } }");
    }
    out.push('    steps {');
    out.push(`      sh 'echo building ${i}'`);
    out.push(`      sh "make target-${i} BRANCH=\${run.branch}"`);
    out.push("      echo 'done'");
    out.push('    }');
    out.push('  }');
    i++;
  }
  out.push('}', '');
  return out.join('\n');
}

/** A pipeline whose stages come from a 3-dimension matrix: about `target` stages in all. */
export function generateMatrixPipeline(target: number): string {
  const side = Math.max(2, Math.round(Math.cbrt(target)));
  const values = (prefix: string): string => Array.from({ length: side }, (_, k) => `'${prefix}${k}'`).join(', ');
  return `pipeline {
  stage('Build') { steps { sh 'make' } }
  each(${values('os')}) as os {
    each(${values('v')}) as version {
      each(${values('db')}) as db {
        stage {
          name = "Test \${os} \${version} \${db}"
          runtime { from 'Build' }
          when { branch != 'nightly-off' }
          steps { sh "make test OS=\${os} VERSION=\${version} DB=\${db}" }
        }
      }
    }
  }
}
`;
}

/** `stages` sequential stages of `steps` no-op steps each (`sh 'true'`): the per-step overhead workload. */
export function generateNoopPipeline(stages: number, steps: number): string {
  const out = ['pipeline {', "  name = 'noop'"];
  for (let s = 0; s < stages; s++) {
    out.push(`  stage('Stage ${s}') {`, '    steps {');
    for (let k = 0; k < steps; k++) out.push("      sh 'true'");
    out.push('    }', '  }');
  }
  out.push('}', '');
  return out.join('\n');
}

/** The plain-shell floor of generateNoopPipeline: the same `sh -c true` processes, one after another. */
export function generateNoopScript(steps: number): string {
  return `#!/bin/sh\n${'sh -c true\n'.repeat(steps)}`;
}

/** One stage with one step running `script` (single quotes inside are not allowed). */
export function generateOneStepPipeline(script: string): string {
  if (script.includes("'")) throw new Error('generateOneStepPipeline: no single quotes in the script');
  return `pipeline {\n  name = 'one'\n  stage('Only') {\n    steps {\n      sh '${script}'\n    }\n  }\n}\n`;
}

/** `n` stages in one parallel block, each one step running `script`. */
export function generateParallelPipeline(n: number, script: string): string {
  const out = ['pipeline {', "  name = 'parallel'", '  parallel {'];
  for (let i = 0; i < n; i++) out.push(`    stage('Branch ${i}') {`, `      steps { sh '${script}' }`, '    }');
  out.push('  }', '}', '');
  return out.join('\n');
}
