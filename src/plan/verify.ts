// Recomputes a plan's hash from the document itself (see docs/plan.md for the definition).

import type { Plan } from '../protocol/plan.js';
import { sha256 } from './hash.js';

export function verifyPlanHash(plan: Plan): boolean {
  const { planHash, ...body } = plan;
  return planHash === `sha256:${sha256(JSON.stringify(body))}`;
}
