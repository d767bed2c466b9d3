import type { FhirServices } from '../rest/services';
import type { RequestContext } from '../rest/types';

export async function caseView(_services: FhirServices, _ctx: RequestContext, caseId: string): Promise<unknown> {
  return { id: caseId };
}
export async function caseList(_services: FhirServices, _ctx: RequestContext, _client: string | undefined): Promise<unknown> {
  return {};
}
