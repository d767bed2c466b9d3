/**
 * The case API's endpoints, in one table that the HTTP router (src/http/case-api.ts) mounts and
 * the OpenAPI document (openapi.ts) describes, so the two cannot drift apart.
 */
import type { CaseCommand } from './command';
import { openCase } from './commands/open-case';

export interface CommandEndpoint {
  readonly kind: 'command';
  readonly method: 'POST' | 'PUT';
  /** Below /cm/v1, with `{caseId}`-style parameters. */
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  readonly description: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each endpoint has its own payload type
  readonly command: CaseCommand<any>;
}

export const COMMAND_ENDPOINTS: readonly CommandEndpoint[] = [
  {
    kind: 'command',
    method: 'POST',
    path: '/cases',
    operationId: 'openCase',
    summary: 'Open a case for a client (intake)',
    description:
      'Writes the client (Patient cb-client, when new: matched by identifier first), the case (EpisodeOfCare cb-case), its CareTeam and the presenting problems (Condition), with a Provenance.',
    command: openCase,
  },
];

/** Path parameters of a path: `/cases/{caseId}/x/{y}` → [caseId, y]. */
export function pathParameters(path: string): string[] {
  return [...path.matchAll(/\{([A-Za-z]+)\}/g)].map((m) => m[1] as string);
}
