#!/usr/bin/env python3
"""Writes fixtures/cases/caseload/: a caseload of 30 synthetic clients across Riverside's three
case managers (Castillo, Whitaker, Tanaka), so the caseload, the measures and the CSV reports have
something to count: intake, PHQ-9 at intake and in May, a service plan with a goal and a dated
objective, an attended appointment whose contact carries service units (and its ChargeItem), an
appointment still to come, and, for one case in four, closing. Deterministic (uuid5 fullUrls);
run it again after changing it: python3 tools/caseload-fixtures/generate.py"""
import json, os, uuid

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, 'fixtures', 'cases', 'caseload')
CB = 'http://casebridge.org/fhir/StructureDefinition/'
CM = 'http://casebridge.org/fhir/CodeSystem/case-management'
SERVICE = 'http://casebridge.org/fhir/CodeSystem/case-management-service'
HCPCS = 'http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets'
CLIENT_SYSTEM = 'https://riverside-cmhs.example.org/fhir/sid/client-id'
ORG = {'reference': 'Organization/fx-org-riverside', 'display': 'Riverside Community Mental Health Services'}
MANAGERS = [('fx-role-castillo', 'Nora Castillo, LMSW'), ('fx-role-whitaker', None), ('fx-role-tanaka', None)]
N = 30
FAMILIES = ['Abbott', 'Banerjee', 'Carvalho', 'Delaney', 'Eze', 'Fischer', 'Gallo', 'Haddad', 'Ibarra', 'Jensen', 'Kowalski', 'Lindqvist', 'Mensah', 'Novak', 'Oduya', 'Petrov', 'Quinn', 'Rahman', 'Silva', 'Takahashi', 'Urquhart', 'Vasquez', 'Wojcik', 'Xu', 'Yilmaz', 'Zeller', 'Adeyemi', 'Brennan', 'Costa', 'Duarte']
GIVEN = ['Alex', 'Bea', 'Chris', 'Dana', 'Eli', 'Fran', 'Gus', 'Hana', 'Ivo', 'Jo']
PHQ9_ITEMS = None  # read from the depression fixture's PHQ-9 (linkIds and texts, in order)
ANSWERS = [('LA6568-5', 'Not at all'), ('LA6569-3', 'Several days'), ('LA6570-1', 'More than half the days'), ('LA6571-9', 'Nearly every day')]


def urn(name):
    return f'urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, "casebridge-caseload/" + name)}'


def client_ref(k):
    return {'reference': f'Patient?identifier={CLIENT_SYSTEM}|RC-25-2{k:03d}'}


def manager(k):
    rid, display = MANAGERS[k % 3]
    return {'reference': f'PractitionerRole/{rid}', **({'display': display} if display else {})}


def put(resource, name=None):
    return {'fullUrl': urn(name or f"{resource['resourceType']}/{resource['id']}"), 'resource': resource, 'request': {'method': 'PUT', 'url': f"{resource['resourceType']}/{resource['id']}"}}


def opened(k):
    return f'2025-01-{6 + k % 20:02d}'


def closed(k):
    return k % 4 == 0


def closing_day(k):
    return f'2025-06-{2 + k % 25:02d}'


def phq9(k, total, authored, suffix):
    items = []
    left = total
    for i, (link, text) in enumerate(PHQ9_ITEMS):
        points = 0 if link == '44260-8' else min(3, left)
        left -= points
        code, display = ANSWERS[points]
        items.append({'linkId': link, 'text': text, 'answer': [{'valueCoding': {'system': 'http://loinc.org', 'code': code, 'display': display}}]})
    assert left == 0, (k, total)
    return put({
        'resourceType': 'QuestionnaireResponse', 'id': f'fx-caseload-{k}-phq9-{suffix}',
        'meta': {'profile': [CB + 'cb-screening-response']},
        'extension': [{'url': 'http://hl7.org/fhir/StructureDefinition/workflow-episodeOfCare', 'valueReference': {'reference': f'EpisodeOfCare/fx-caseload-{k}-case'}}],
        'questionnaire': 'http://casebridge.org/fhir/Questionnaire/phq-9', 'status': 'completed',
        'subject': client_ref(k), 'authored': authored, 'author': manager(k), 'source': client_ref(k), 'item': items,
    })


def intake(k):
    patient_urn = urn(f'Patient/{k}')
    team_urn = urn(f'CareTeam/fx-caseload-{k}-team')
    start = opened(k)
    programme = ('targeted-case-management', 'Targeted case management') if k % 2 == 0 else ('housing-support', 'Housing support programme')
    return [
        {'fullUrl': patient_urn, 'resource': {
            'resourceType': 'Patient', 'meta': {'profile': [CB + 'cb-client']},
            'identifier': [{'use': 'usual', 'type': {'coding': [{'system': 'http://terminology.hl7.org/CodeSystem/v2-0203', 'code': 'MR', 'display': 'Medical record number'}], 'text': 'Agency client number'}, 'system': CLIENT_SYSTEM, 'value': f'RC-25-2{k:03d}'}],
            'active': True, 'name': [{'use': 'official', 'family': FAMILIES[k], 'given': [GIVEN[k % 10]]}],
            'gender': ['female', 'male', 'other'][k % 3], 'birthDate': f'{1960 + k}-0{1 + k % 9}-1{k % 10}',
            'managingOrganization': ORG},
         'request': {'method': 'POST', 'url': 'Patient', 'ifNoneExist': f'identifier={CLIENT_SYSTEM}|RC-25-2{k:03d}'}},
        put({'resourceType': 'EpisodeOfCare', 'id': f'fx-caseload-{k}-case', 'meta': {'profile': [CB + 'cb-case']},
             'status': 'active', 'statusHistory': [{'status': 'active', 'period': {'start': start}}],
             'type': [{'coding': [{'system': CM, 'code': 'case-management', 'display': 'Case management'}]}, {'coding': [{'system': CM, 'code': programme[0], 'display': programme[1]}]}],
             'patient': {'reference': patient_urn}, 'managingOrganization': ORG, 'period': {'start': start},
             'careManager': manager(k), 'team': [{'reference': team_urn}]}),
        put({'resourceType': 'CareTeam', 'id': f'fx-caseload-{k}-team', 'status': 'active', 'name': f'Case team — {GIVEN[k % 10]} {FAMILIES[k]}',
             'subject': {'reference': patient_urn}, 'period': {'start': start},
             'participant': [
                 {'role': [{'coding': [{'system': 'http://snomed.info/sct', 'code': '116154003', 'display': 'Patient'}], 'text': 'Client'}], 'member': {'reference': patient_urn}},
                 {'role': [{'coding': [{'system': 'http://snomed.info/sct', 'code': '768832004', 'display': 'Case manager'}], 'text': 'Case manager'}], 'member': manager(k), 'period': {'start': start}}],
             'managingOrganization': [ORG]}),
    ]


def baseline(k):
    return 8 + (k * 7) % 12  # 8..19


def later(k):
    b = baseline(k)
    return [b // 2, 3, b - 2, 4][k % 4]


def goal_entries(k, status_closed=False):
    achieved = closed(k) and k % 8 == 0
    life = ('completed' if achieved else 'cancelled') if status_closed else 'active'
    ach = ('achieved', 'Achieved') if achieved else (('not-achieved', 'Not Achieved') if status_closed else ('in-progress', 'In Progress'))
    extra = {'statusDate': closing_day(k), **({} if achieved else {'statusReason': 'Case closed: plan completed'})} if status_closed else {'statusDate': opened(k)}
    goal = {'resourceType': 'Goal', 'id': f'fx-caseload-{k}-goal', 'meta': {'profile': [CB + 'cb-goal']},
            'extension': [{'url': 'http://hl7.org/fhir/StructureDefinition/goal-relationship', 'extension': [
                {'url': 'type', 'valueCodeableConcept': {'coding': [{'system': 'http://terminology.hl7.org/CodeSystem/goal-relationship-type', 'code': 'milestone', 'display': 'Milestone'}]}},
                {'url': 'target', 'valueReference': {'reference': f'Goal/fx-caseload-{k}-objective'}}]}],
            'lifecycleStatus': life, 'achievementStatus': {'coding': [{'system': 'http://terminology.hl7.org/CodeSystem/goal-achievement', 'code': ach[0], 'display': ach[1]}]},
            'description': {'text': ['Keep a stable home', 'Find paid work', 'Feel less low most days'][k % 3]},
            'subject': client_ref(k), 'startDate': opened(k), **extra}
    objective = {'resourceType': 'Goal', 'id': f'fx-caseload-{k}-objective', 'meta': {'profile': [CB + 'cb-objective']},
                 'lifecycleStatus': life, 'achievementStatus': {'coding': [{'system': 'http://terminology.hl7.org/CodeSystem/goal-achievement', 'code': ach[0], 'display': ach[1]}]},
                 'description': {'text': ['Two housing applications', 'Three job applications a week', 'Thirty minutes outdoors a day'][k % 3]},
                 'subject': client_ref(k), 'startDate': opened(k),
                 'target': [{'measure': {'text': ['Applications', 'Applications per week', 'Minutes per day'][k % 3]}, 'detailQuantity': {'comparator': '>=', 'value': [2, 3, 30][k % 3]}, 'dueDate': f'2025-0{4 + k % 5}-{10 + k % 18:02d}'}], **extra}
    return goal, objective


def plan(k, status='active'):
    end = {'end': closing_day(k)} if status == 'completed' else {}
    return {'resourceType': 'CarePlan', 'id': f'fx-caseload-{k}-plan', 'meta': {'profile': [CB + 'cb-service-plan']},
            'extension': [{'url': 'http://hl7.org/fhir/StructureDefinition/workflow-episodeOfCare', 'valueReference': {'reference': f'EpisodeOfCare/fx-caseload-{k}-case'}}],
            'text': {'status': 'generated', 'div': f'<div xmlns="http://www.w3.org/1999/xhtml"><p>Service plan of {GIVEN[k % 10]} {FAMILIES[k]}: one goal and its objective.</p></div>'},
            'status': status, 'intent': 'plan',
            'category': [{'coding': [{'system': 'http://hl7.org/fhir/us/core/CodeSystem/careplan-category', 'code': 'assess-plan', 'display': 'Assessment and Plan of Treatment'}]},
                         {'coding': [{'system': CM, 'code': 'service-plan', 'display': 'Service plan'}]}],
            'title': 'Service plan', 'subject': client_ref(k), 'period': {'start': opened(k), **end}, 'created': f'{opened(k)}T15:00:00-05:00',
            'author': manager(k), 'careTeam': [{'reference': f'CareTeam/fx-caseload-{k}-team'}],
            'goal': [{'reference': f'Goal/fx-caseload-{k}-goal'}, {'reference': f'Goal/fx-caseload-{k}-objective'}]}


def planning(k):
    goal, objective = goal_entries(k)
    # Within one Bundle, references to its entries use their urn:uuid.
    goal['extension'][0]['extension'][1]['valueReference'] = {'reference': urn(f'Goal/fx-caseload-{k}-objective')}
    p = plan(k)
    p['goal'] = [{'reference': urn(f'Goal/fx-caseload-{k}-goal')}, {'reference': urn(f'Goal/fx-caseload-{k}-objective')}]
    return [put(objective), put(goal), put(p)]


def contacts(k):
    day = f'2025-02-{3 + k % 24:02d}'
    minutes = [20, 38, 45, 52, 60, 30][k % 6]
    start, end = f'{day}T15:00:00-05:00', f'{day}T{15 + minutes // 60}:{minutes % 60:02d}:00-05:00'
    units = minutes // 15 + (1 if minutes % 15 >= 8 else 0)
    service = ('targeted-case-management', 'Targeted case management', 'T1017', 'Targeted case management, each 15 minutes') if k % 2 == 0 else ('case-management', 'Case management', 'T1016', 'Case management, each 15 minutes')
    programme = ('targeted-case-management', 'Targeted case management') if k % 2 == 0 else ('housing-support', 'Housing support programme')
    service_concept = {'coding': [{'system': SERVICE, 'code': service[0], 'display': service[1]}, {'system': HCPCS, 'code': service[2], 'display': service[3]}], 'text': service[1]}
    appt_urn, enc_urn = urn(f'Appointment/fx-caseload-{k}-appointment-1'), urn(f'Encounter/fx-caseload-{k}-contact-1')
    out = [
        put({'resourceType': 'Appointment', 'id': f'fx-caseload-{k}-appointment-1', 'status': 'fulfilled',
             'serviceType': [{'coding': [{'system': CM, 'code': 'home-visit' if k % 3 == 0 else 'office-visit', 'display': 'Home visit' if k % 3 == 0 else 'Office visit'}]}, {'coding': [{'system': SERVICE, 'code': service[0], 'display': service[1]}], 'text': service[1]}],
             'supportingInformation': [{'reference': f'EpisodeOfCare/fx-caseload-{k}-case'}],
             'start': start, 'end': end, 'minutesDuration': minutes, 'created': opened(k),
             'participant': [{'actor': client_ref(k), 'required': 'required', 'status': 'accepted'}, {'actor': manager(k), 'required': 'required', 'status': 'accepted'}]}),
        put({'resourceType': 'Encounter', 'id': f'fx-caseload-{k}-contact-1', 'meta': {'profile': [CB + 'cb-contact']}, 'status': 'finished',
             'class': {'system': 'http://terminology.hl7.org/CodeSystem/v3-ActCode', 'code': 'HH' if k % 3 == 0 else 'AMB', 'display': 'home health' if k % 3 == 0 else 'ambulatory'},
             'type': [{'coding': [{'system': CM, 'code': 'home-visit' if k % 3 == 0 else 'office-visit', 'display': 'Home visit' if k % 3 == 0 else 'Office visit'}]}, service_concept],
             'serviceType': {'coding': [{'system': CM, 'code': programme[0], 'display': programme[1]}]},
             'subject': client_ref(k), 'episodeOfCare': [{'reference': f'EpisodeOfCare/fx-caseload-{k}-case'}],
             'participant': [{'type': [{'coding': [{'system': 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', 'code': 'PPRF', 'display': 'primary performer'}]}], 'individual': manager(k)}],
             'appointment': [{'reference': appt_urn}],
             'period': {'start': start, 'end': end}, 'length': {'value': minutes, 'unit': 'min', 'system': 'http://unitsofmeasure.org', 'code': 'min'},
             'serviceProvider': ORG}),
        put({'resourceType': 'ChargeItem', 'id': f'fx-caseload-{k}-charge-1', 'status': 'billable', 'code': service_concept, 'subject': client_ref(k),
             'context': {'reference': enc_urn}, 'occurrencePeriod': {'start': start, 'end': end}, 'performer': [{'actor': manager(k)}], 'performingOrganization': ORG,
             'quantity': {'value': units, 'unit': '15-minute unit'}, 'enteredDate': f'{day}T17:00:00-05:00',
             'note': [{'text': f'{minutes} minutes = {units} unit(s) (15-minute units, 8-minute midpoint)'}]}),
        phq9(k, later(k), '2025-05-05T10:00:00-04:00', 'may'),
    ]
    if not closed(k):
        out.append(put({'resourceType': 'Appointment', 'id': f'fx-caseload-{k}-appointment-2', 'status': 'booked',
                        'serviceType': [{'coding': [{'system': CM, 'code': 'office-visit', 'display': 'Office visit'}]}],
                        'supportingInformation': [{'reference': f'EpisodeOfCare/fx-caseload-{k}-case'}],
                        'start': f'2027-01-{4 + k % 20:02d}T15:00:00-05:00', 'end': f'2027-01-{4 + k % 20:02d}T16:00:00-05:00', 'minutesDuration': 60, 'created': '2025-05-05',
                        'participant': [{'actor': client_ref(k), 'required': 'required', 'status': 'accepted'}, {'actor': manager(k), 'required': 'required', 'status': 'accepted'}]}))
    return out


def closing(k):
    end = closing_day(k)
    goal, objective = goal_entries(k, status_closed=True)
    episode = intake(k)[1]['resource']
    episode = {**episode, 'status': 'finished', 'statusHistory': [{'status': 'active', 'period': {'start': opened(k), 'end': end}}, {'status': 'finished', 'period': {'start': end}}],
               'patient': client_ref(k), 'period': {'start': opened(k), 'end': end}, 'team': [{'reference': f'CareTeam/fx-caseload-{k}-team'}]}
    team = intake(k)[2]['resource']
    team = {**team, 'status': 'inactive', 'subject': client_ref(k), 'period': {'start': opened(k), 'end': end}}
    team['participant'] = [{**p, 'member': client_ref(k) if p['member']['reference'].startswith('urn:') else p['member']} for p in team['participant']]
    return [put(goal), put(objective), put(plan(k, 'completed')), put(team), put(episode)]


def bundle(entries):
    # A reference to an entry of the same Bundle uses the entry's urn:uuid (the fixtures' convention).
    local = {e['request']['url']: e['fullUrl'] for e in entries if e['request']['method'] == 'PUT'}

    def walk(node):
        if isinstance(node, dict):
            return {k: (local.get(v, v) if k == 'reference' and isinstance(v, str) else walk(v)) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node
    return {'resourceType': 'Bundle', 'type': 'transaction', 'entry': [{**e, 'resource': walk(e['resource'])} for e in entries]}


def main():
    global PHQ9_ITEMS
    with open(os.path.join(ROOT, 'fixtures', 'cases', 'anxiety', '02-assessment.json')) as f:
        qr = next(e['resource'] for e in json.load(f)['entry'] if e['resource']['resourceType'] == 'QuestionnaireResponse')
    PHQ9_ITEMS = [(i['linkId'], i['text']) for i in qr['item']]
    os.makedirs(OUT, exist_ok=True)
    files = {
        '01-intake.json': [e for k in range(N) for e in intake(k)],
        '02-screening.json': [phq9(k, baseline(k), f'{opened(k)}T11:00:00-05:00', 'intake') for k in range(N)],
        '03-planning.json': [e for k in range(N) for e in planning(k)],
        '04-contacts.json': [e for k in range(N) for e in contacts(k)],
        '05-closing.json': [e for k in range(N) if closed(k) for e in closing(k)],
    }
    for name, entries in files.items():
        with open(os.path.join(OUT, name), 'w') as f:
            json.dump(bundle(entries), f, indent=2, ensure_ascii=False)
            f.write('\n')


if __name__ == '__main__':
    main()
