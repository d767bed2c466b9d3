// Directory resources (agencies, staff, their roles) that tests name: case commands refuse
// references to resources that do not exist (422), so tests write what they name first, in one
// transaction of PUTs (an administrator's, through the FHIR API).
import request from 'supertest';
import { FHIR_JSON, type TestApp } from './app';

export interface Directory {
  readonly organizations?: readonly string[];
  readonly practitioners?: readonly string[];
  /** PractitionerRole id → its practitioner and organization (ids), either may be absent. */
  readonly roles?: Readonly<Record<string, { readonly practitioner?: string; readonly organization?: string }>>;
}

/** The agencies, staff and partners the case-API tests name. */
export const CASE_API_DIRECTORY: Directory = {
  organizations: ['agency', 'agency-2', 'agency-portland', 'community-centre', 'counselling', 'housing-partner', 'jobs', 'recovery-centre', 'x'],
  practitioners: ['case-manager-1', 'case-manager-2', 'case-manager-3', 'p-2', 'therapist-1'],
  roles: {
    'cm-1': { practitioner: 'case-manager-1', organization: 'agency' },
    'cm-2': { practitioner: 'case-manager-2', organization: 'agency' },
    'cm-3': { practitioner: 'case-manager-3', organization: 'agency' },
    'cm-other': { practitioner: 'p-2', organization: 'agency-2' },
  },
};

export async function seedDirectory(t: Pick<TestApp, 'app'>, directory: Directory): Promise<void> {
  const put = (resource: { resourceType: string; id: string } & Record<string, unknown>) => ({ resource, request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` } });
  const entry = [
    ...(directory.organizations ?? []).map((id) => put({ resourceType: 'Organization', id, name: `Organization ${id}` })),
    ...(directory.practitioners ?? []).map((id) => put({ resourceType: 'Practitioner', id, name: [{ family: id }] })),
    ...Object.entries(directory.roles ?? {}).map(([id, { practitioner, organization }]) =>
      put({
        resourceType: 'PractitionerRole',
        id,
        ...(practitioner ? { practitioner: { reference: `Practitioner/${practitioner}` } } : {}),
        ...(organization ? { organization: { reference: `Organization/${organization}` } } : {}),
        code: [{ coding: [{ system: 'http://nucc.org/provider-taxonomy', code: '171M00000X', display: 'Case Manager/Care Coordinator' }] }],
      }),
    ),
  ];
  const res = await request(t.app).post('/fhir').set('Content-Type', FHIR_JSON).send(JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry }));
  if (res.status !== 200) throw new Error(`seedDirectory: ${res.status} ${JSON.stringify(res.body)}`);
}
