import type { JsonSchema } from './common';
import { planSchema } from './plan-parts';

/**
 * POST /cm/v1/cases/{caseId}/plan/revisions (or PUT …/plan) — the whole revised plan: entries
 * with `id` carry the current plan's goals, objectives and interventions forward; the rest is new.
 */
export const reviseServicePlanSchema: JsonSchema = planSchema(true);
