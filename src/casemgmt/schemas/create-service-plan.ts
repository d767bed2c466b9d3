import type { JsonSchema } from './common';
import { planSchema } from './plan-parts';

/** POST /cm/v1/cases/{caseId}/plan — create the service plan: goals, measurable objectives, interventions. */
export const createServicePlanSchema: JsonSchema = planSchema(false);
