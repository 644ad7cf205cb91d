// Five-field cron expressions, validated with messages that name the bad field.

const FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'] },
  { name: 'day of week', min: 0, max: 7, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
] as const;

export const CRON_MACROS = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'] as const;

/** An error message for an invalid expression, or undefined when it is valid. */
export function validateCron(expr: string): string | undefined {
  const text = expr.trim();
  if (text.startsWith('@')) {
    return (CRON_MACROS as readonly string[]).includes(text.toLowerCase())
      ? undefined
      : `unknown cron macro '${text}'; use ${CRON_MACROS.join(', ')}`;
  }
  const fields = text.split(/\s+/).filter((f) => f !== '');
  if (fields.length !== 5) {
    return `a cron expression has 5 fields (minute hour day-of-month month day-of-week), found ${fields.length}`;
  }
  for (let i = 0; i < 5; i++) {
    const problem = validateField(fields[i] as string, FIELDS[i] as (typeof FIELDS)[number]);
    if (problem) return problem;
  }
  return undefined;
}

function validateField(field: string, spec: (typeof FIELDS)[number]): string | undefined {
  for (const part of field.split(',')) {
    if (part === '') return `empty list element in the ${spec.name} field '${field}'`;
    const [range, step, extra] = part.split('/');
    if (extra !== undefined) return `too many '/' in the ${spec.name} field '${field}'`;
    if (step !== undefined && !/^\d+$/.test(step)) return `the step '${step}' in the ${spec.name} field must be a number`;
    if (step !== undefined && Number(step) === 0) return `the step in the ${spec.name} field must be at least 1`;
    if (range === '*') continue;
    const bounds = (range as string).split('-');
    if (bounds.length > 2) return `bad range '${range}' in the ${spec.name} field`;
    const values: number[] = [];
    for (const b of bounds) {
      const v = fieldValue(b, spec);
      if (v === undefined) {
        return `'${b}' is not a valid ${spec.name} (${spec.min}-${spec.max}${'names' in spec ? ` or ${spec.names.slice(0, 3).join(', ')}, …` : ''})`;
      }
      values.push(v);
    }
    if (values.length === 2 && (values[0] as number) > (values[1] as number)) {
      return `the range '${range}' in the ${spec.name} field runs backwards`;
    }
  }
  return undefined;
}

function fieldValue(text: string, spec: (typeof FIELDS)[number]): number | undefined {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    return n >= spec.min && n <= spec.max ? n : undefined;
  }
  if ('names' in spec) {
    const i = (spec.names as readonly string[]).indexOf(text.toLowerCase());
    if (i >= 0) return i + spec.min;
  }
  return undefined;
}
