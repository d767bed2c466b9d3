/**
 * Referral exchange with partners' FHIR servers (Gravity SDOHCC direct referral,
 * CASE-MANAGEMENT-FHIR.md §1.2 and §7.3), in both directions, as outbox work any instance may do
 * (each attempt under a lease; failures retried with backoff across restarts):
 *
 *  scan     referral Tasks changed since the checkpoint: one of ours whose owner is a partner
 *           organisation is to be sent (`referral-send:<task>`); one a partner posted to us, whose
 *           focus is on the partner's server, is to be taken in (`referral-import:<task>`);
 *  send     POST [partner]/Task with If-None-Exist on our Task's identifier — sent again after a
 *           crash, it is found, not created twice — focus the absolute URL of our ServiceRequest;
 *           then the Task is followed (`referral-follow:<task>`);
 *  follow   GET [partner]/Task/<id> every REFERRAL_POLL_SECONDS: each status the partner moved it
 *           through is recorded on our Task as the partner's (the state machine holds); when it is
 *           completed, the Procedures and outcome Observations it names in Task.output (and those
 *           based on the request) are fetched and recorded here, and the loop is closed: our
 *           ServiceRequest completed, the goal it served noted with the outcome Observations in
 *           Goal.outcomeReference (never its achievementStatus: the case manager's judgement), an
 *           event on the case's timeline. A cancellation of ours goes to the partner;
 *  import   for a referral received (referral-import.ts): GET the partner's ServiceRequest, its
 *           Patient and what it sends along (supportingInfo, reasonReference, pertainsToGoal: the
 *           consent, the screening, the condition, the goal), copied here for the receiving agency
 *           (what cannot be had is noted on the Task); the client matched by identifier among the
 *           agency's own (client-match.ts) before one is created; the Task pointed at them
 *           (Task.for, Task.basedOn) — all as one unit.
 *
 * Reads and writes go through the scoped services of whom the work is for (actors.ts), so isolation,
 * consent and labels apply, and every write passes the write pipeline. Each call to a partner is
 * audited (TransferAudit).
 */
import type { Bundle, Communication, Goal, Observation, Procedure, Reference, Resource, ServiceRequest, Task, TaskOutput } from '@medplum/fhirtypes';
import type { RequestContext } from '../../core/context';
import type { FhirServices } from '../../core/services';
import { writeOne } from '../../core/write-pipeline';
import { FhirError } from '../../fhir/outcomes';
import { withoutServerMeta } from '../../fhir/resource-body';
import { newId } from '../../platform/ids';
import type { OutboxEntry, Partner } from '../../store/records';
import { type CurrentResource, readIfPresent } from '../../store/repository';
import { organizationCaller, partnerCaller, servicesAs, workContext } from '../actors';
import { MAX_ATTEMPTS, retryDelayMs } from '../backoff';
import type { WorkflowContext } from '../context';
import { isUnder } from '../destinations';
import { findAll, searchToken } from '../find';
import { OutboundFailure, callPeer, jsonOf } from '../outbound';
import { loadCase } from '../../casemgmt/case-record';
import { caseNote } from '../../casemgmt/commands/contact';
import { type Outcome, type PartnerCall, RemoteRefusal, type Transfer } from './partner-answers';
import { ReferralImport } from './referral-import';
import { TASK_CODE_SYSTEM } from './referral-rule';
import { type Naming, atPartner, partnerOrganizations, personOf, sourceIdentifier, supportingCopy } from './supporting-copies';
import { FINAL_STATUSES, STATUSES_NEEDING_REASON, allowedNext, pathTo } from './task-status';

const LEASE_MS = 60_000;
const BATCH = 20;
const SCAN_MARGIN_MS = 60_000;
const KINDS = ['referral-send', 'referral-follow', 'referral-import'] as const;
const CHECKPOINT = 'referral-scan';
/** SDOHCC Task.output slice PerformedActivityReference. */
const RESULTING_ACTIVITY = { system: 'http://hl7.org/fhir/us/sdoh-clinicalcare/CodeSystem/SDOHCC-CodeSystemTemporaryCodes', code: 'resulting-activity', display: 'Resulting Activity' };
const WORKFLOW_EPISODE = 'http://hl7.org/fhir/StructureDefinition/workflow-episodeOfCare';
const PERTAINS_TO_GOAL = 'http://hl7.org/fhir/StructureDefinition/resource-pertainsToGoal';

/** The ServiceRequest's status that follows a final Task status. */
const REQUEST_STATUS: Readonly<Record<string, ServiceRequest['status']>> = { completed: 'completed', rejected: 'revoked', cancelled: 'revoked', failed: 'revoked' };

export class ReferralExchange {
  readonly name = 'referrals';

  private readonly receiving: ReferralImport;

  constructor(private readonly w: WorkflowContext) {
    this.receiving = new ReferralImport({ w, call: (partner, transfer, request) => this.call(partner, transfer, request), as: (organization, work) => this.as(organization, work), organizationOf: (reference) => this.organizationOf(reference) });
  }

  async run(): Promise<number> {
    return ((await this.w.leased(CHECKPOINT, LEASE_MS, () => this.scan())) ?? 0) + (await this.work());
  }

  /** Referral Tasks changed since the checkpoint, to send or to take in. */
  private async scan(): Promise<number> {
    const partners = (await this.w.records.partners.list()).filter((p) => p.active);
    if (partners.length === 0) return 0;
    const started = this.w.services.now();
    const since = await this.w.records.checkpoints.get(CHECKPOINT);
    const query = { code: `${TASK_CODE_SYSTEM}|fulfill`, _sort: '_lastUpdated', ...(since ? { _lastUpdated: `ge${new Date(since.getTime() - SCAN_MARGIN_MS).toISOString()}` } : {}) };
    let added = 0;
    for (const match of await findAll(this.w.services, 'Task', query, 10_000)) {
      const task = match.resource as Task & { id: string };
      const focus = task.focus?.reference ?? '';
      const now = this.w.now();
      if (/^https?:\/\//.test(focus)) {
        const partner = partners.find((p) => isUnder(focus, p.baseUrl) && p.organization === task.requester?.reference);
        if (partner && task.status === 'requested' && (task.basedOn ?? []).length === 0) {
          added += (await this.w.records.outbox.enqueue({ id: `referral-import:${task.id}`, kind: 'referral-import', target: partner.id, payload: { task: task.id }, due: now }, now)) === 'enqueued' ? 1 : 0;
        }
        continue;
      }
      const partner = partners.find((p) => p.organization === task.owner?.reference);
      if (partner && task.status !== 'draft' && task.status !== 'entered-in-error') {
        added += (await this.w.records.outbox.enqueue({ id: `referral-send:${task.id}`, kind: 'referral-send', target: partner.id, payload: { task: task.id }, due: now }, now)) === 'enqueued' ? 1 : 0;
      }
    }
    await this.w.records.checkpoints.set(CHECKPOINT, started);
    return added;
  }

  private async work(): Promise<number> {
    let done = 0;
    for (const entry of await this.w.records.outbox.due(KINDS, this.w.now(), BATCH)) {
      done += (await this.w.leased(`outbox:${entry.id}`, LEASE_MS, () => this.attempt(entry.id))) ?? 0;
    }
    return done;
  }

  private async attempt(entryId: string): Promise<number> {
    const { outbox } = this.w.records;
    const now = this.w.now();
    const entry = await outbox.get(entryId);
    if (!entry || entry.state !== 'pending' || entry.due.getTime() > now.getTime()) return 0;
    const partner = await this.w.records.partners.find(entry.target);
    if (!partner) {
      await outbox.abandon(entryId, now, `partner ${entry.target} is no longer registered`);
      return 1;
    }
    if (!partner.active) {
      // Held until the partner is active again.
      await outbox.reschedule(entryId, { due: new Date(now.getTime() + this.pollMs()) });
      return 1;
    }
    try {
      const outcome = entry.kind === 'referral-send' ? await this.send(entry, partner) : entry.kind === 'referral-follow' ? await this.follow(entry, partner) : await this.receiving.run(entry, partner);
      if (outcome.done) await outbox.complete(entryId, this.w.now(), outcome.payload);
      else await outbox.reschedule(entryId, { due: outcome.again, resetAttempts: true, ...(outcome.payload ? { payload: outcome.payload } : {}) });
    } catch (err) {
      const failure = err instanceof OutboundFailure || err instanceof RemoteRefusal || err instanceof FhirError ? err.message : undefined;
      if (failure === undefined) throw err;
      const attempts = entry.attempts + 1;
      if (attempts >= MAX_ATTEMPTS || (err instanceof RemoteRefusal && err.permanent)) await outbox.abandon(entryId, now, failure);
      else await outbox.reschedule(entryId, { due: new Date(now.getTime() + retryDelayMs(attempts, entryId)), error: failure });
      this.w.log.warn({ entry: entryId, partner: partner.id, attempts, failure }, 'referral exchange attempt failed');
    }
    return 1;
  }

  private pollMs(): number {
    return this.w.deps.settings.referralPollSeconds * 1000;
  }

  /** The organisation a reference names, or the one a PractitionerRole works for. */
  private async organizationOf(reference: string | undefined): Promise<string | undefined> {
    if (reference?.startsWith('Organization/')) return reference;
    if (reference?.startsWith('PractitionerRole/')) {
      const role = await readIfPresent(this.w.services.repo, 'PractitionerRole', reference.slice('PractitionerRole/'.length));
      return (role?.resource as { organization?: Reference } | undefined)?.organization?.reference;
    }
    return undefined;
  }

  /** The scoped services of one of our organisations, for work done in its name. */
  private async as(organization: string, work: string): Promise<{ ctx: RequestContext; services: FhirServices }> {
    const ctx = workContext(organizationCaller(organization, work), this.w.log, work);
    return { ctx, services: await servicesAs(this.w.services, ctx) };
  }

  private async asPartner(partner: Partner, work: string): Promise<{ ctx: RequestContext; services: FhirServices }> {
    const ctx = workContext(partnerCaller(partner), this.w.log, work);
    return { ctx, services: await servicesAs(this.w.services, ctx) };
  }

  /** A call to the partner, audited; the JSON answer when it is 2xx. */
  private readonly call: PartnerCall = async (partner: Partner, transfer: Transfer, request) => {
    const client = this.w.partnerClient(partner);
    const url = client.url(request.path);
    const { response, failure } = await callPeer(() =>
      client.request(request.method, url, { ...(request.body !== undefined ? { body: request.body } : {}), ...(request.headers ? { headers: request.headers } : {}) }),
    );
    await this.w.deps.audit.record(
      {
        type: transfer.type,
        remote: url,
        caller: transfer.ctx.caller,
        requestId: transfer.ctx.requestId,
        query: `${request.method} ${url}`,
        ...(transfer.patients ? { patients: transfer.patients } : {}),
        ...(transfer.entities ? { entities: transfer.entities } : {}),
        ...(failure !== undefined ? { failure: { status: response?.status ?? 0, description: failure } } : {}),
      },
      transfer.services,
    );
    if (failure !== undefined || response === undefined) {
      const status = response?.status ?? 0;
      throw new RemoteRefusal(`${request.method} ${url}: ${failure ?? 'no answer'}`, status >= 400 && status < 500 && status !== 408 && status !== 429 && status !== 401 && status !== 404, status);
    }
    return { response, body: jsonOf(response) };
  };

  // ---- Sending ----

  private async send(entry: OutboxEntry, partner: Partner): Promise<Outcome> {
    const taskId = String(entry.payload.task);
    const current = await readIfPresent(this.w.services.repo, 'Task', taskId);
    const task = current?.resource as (Task & { id: string }) | undefined;
    const requester = await this.organizationOf(task?.requester?.reference);
    if (!task || !requester || task.owner?.reference !== partner.organization) return { done: true };
    // Cancelled or withdrawn before it went: nothing to send.
    if (task.status === 'cancelled' || task.status === 'entered-in-error') return { done: true };
    const transfer = { ...(await this.as(requester, 'referral-send')), type: 'export' as const };
    // What is sent is read as the referring organisation may see it.
    const local = (await transfer.services.repo.read('Task', taskId)).resource as Task & { id: string };
    const requestRef = local.focus?.reference ?? '';
    await transfer.services.repo.read('ServiceRequest', requestRef.split('/')[1] ?? '');
    const base = this.w.services.settings.baseUrl;
    const identifier = { system: `${base}/Task`, value: taskId };
    const remote: Task = {
      resourceType: 'Task',
      identifier: [identifier],
      status: 'requested',
      intent: 'order',
      priority: local.priority ?? 'routine',
      code: local.code as Task['code'],
      ...(local.description ? { description: local.description } : {}),
      focus: { reference: `${base}/${requestRef}` },
      for: { reference: `${base}/${local.for?.reference as string}`, ...(local.for?.display ? { display: local.for.display } : {}) },
      authoredOn: local.authoredOn as string,
      requester: { reference: partner.ourOrganization ?? requester },
      owner: { reference: partner.remoteOrganization ?? partner.organization },
    };
    const patients = local.for?.reference ? [local.for.reference] : [];
    const { response, body } = await this.call(partner, { ...transfer, patients, entities: [{ reference: `Task/${taskId}` }, { reference: requestRef }] }, {
      method: 'POST',
      path: 'Task',
      body: remote,
      // Sent again after an interruption, the Task already there is found rather than made twice.
      headers: { 'if-none-exist': `identifier=${identifier.system}|${identifier.value}` },
    });
    const remoteId = (body as Resource | undefined)?.id ?? /\/Task\/([A-Za-z0-9\-.]{1,64})/.exec(response.headers.get('location') ?? '')?.[1];
    if (!remoteId) throw new RemoteRefusal(`partner ${partner.id} answered the referral without the Task's id`, false);
    const remoteUrl = `${partner.baseUrl}/Task/${remoteId}`;
    const now = this.w.now();
    await this.w.records.outbox.enqueue({ id: `referral-follow:${taskId}`, kind: 'referral-follow', target: partner.id, payload: { task: taskId, remote: remoteUrl }, due: new Date(now.getTime() + this.pollMs()) }, now);
    this.w.log.info({ task: taskId, partner: partner.id, remote: remoteUrl }, 'referral sent');
    return { done: true, payload: { task: taskId, remote: remoteUrl } };
  }

  // ---- Following ----

  private async follow(followed: OutboxEntry, partner: Partner): Promise<Outcome> {
    let entry = followed;
    const taskId = String(entry.payload.task);
    const remoteUrl = String(entry.payload.remote);
    const again = new Date(this.w.now().getTime() + this.pollMs());
    const current = await readIfPresent(this.w.services.repo, 'Task', taskId);
    if (!current) return { done: true };
    const local = current.resource as Task & { id: string };
    const requester = (await this.organizationOf(local.requester?.reference)) ?? partner.organization;
    const transfer = { ...(await this.as(requester, 'referral-follow')), type: 'import' as const, entities: [{ reference: `Task/${taskId}` }] };
    const { body } = await this.call(partner, transfer, { method: 'GET', path: remoteUrl });
    const remote = body as Task;
    if (remote?.resourceType !== 'Task') throw new RemoteRefusal(`${remoteUrl} is not a Task`, false);
    const pushed = await this.conversation(partner, transfer, { local, remote, remoteUrl, requester, pushed: (entry.payload.pushed as string[] | undefined) ?? [] });
    entry = { ...entry, payload: { ...entry.payload, pushed } };
    // Ours was cancelled: the partner is told (the requester may cancel), and that ends it.
    if (local.status === 'cancelled' && !FINAL_STATUSES.has(remote.status)) {
      const cancelled = { ...withoutServerMeta(remote), status: 'cancelled' as const, statusReason: local.statusReason ?? { text: 'Cancelled by the referring organisation' } };
      await this.call(partner, { ...transfer, type: 'export' }, { method: 'PUT', path: remoteUrl, body: cancelled });
      return { done: true };
    }
    // Final here already (an earlier attempt stopped before the loop was closed): close it.
    if (FINAL_STATUSES.has(local.status)) {
      await this.closeLoop(requester, local, partner);
      return { done: true };
    }
    const payload = { ...entry.payload, ...(remote.meta?.versionId ? { version: remote.meta.versionId } : {}) };
    if (remote.status === local.status) return { done: false, again, payload };
    const steps = await this.stepsSince(partner, transfer, { remote, remoteUrl, from: local.status, seen: Number(entry.payload.version ?? 0) });
    if (steps === undefined) {
      this.w.log.warn({ task: taskId, from: local.status, to: remote.status }, 'the partner moved the referral where the state machine has no way');
      return { done: false, again, payload };
    }
    let version = current;
    for (const step of steps) {
      const outputs = step.status === 'completed' ? await this.outcome(partner, { remote, local, requester }) : [];
      version = await this.recordStatus(partner, version, { status: step.status, remote: step.source, outputs });
    }
    if (FINAL_STATUSES.has(remote.status)) {
      await this.closeLoop(requester, version.resource as Task & { id: string }, partner);
      return { done: true };
    }
    return { done: false, again, payload };
  }

  /**
   * The statuses the partner moved the referral through since the version last seen, in order,
   * each with the version that set it (its reason): read from the Task's history when the
   * partner serves it, otherwise the shortest way the state machine allows to where it is now.
   */
  private async stepsSince(partner: Partner, transfer: { ctx: RequestContext; services: FhirServices; type: 'import' }, args: { remote: Task; remoteUrl: string; from: string; seen: number }): Promise<{ status: string; source: Task }[] | undefined> {
    let versions: Task[] = [args.remote];
    try {
      const { body } = await this.call(partner, transfer, { method: 'GET', path: `${args.remoteUrl}/_history?_count=100` });
      const listed = ((body as Bundle | undefined)?.entry ?? [])
        .map((e) => e.resource as Task | undefined)
        .filter((t): t is Task => t?.resourceType === 'Task' && Number(t.meta?.versionId) > args.seen)
        .sort((x, y) => Number(x.meta?.versionId) - Number(y.meta?.versionId));
      if (listed.length > 0) versions = listed;
    } catch (err) {
      if (!(err instanceof RemoteRefusal)) throw err;
    }
    const steps: { status: string; source: Task }[] = [];
    let at = args.from;
    for (const version of versions) {
      if (version.status === at) continue;
      const way = allowedNext(at, ['owner']).includes(version.status as never) ? [version.status] : pathTo(at, version.status, ['owner']);
      if (way === undefined) return undefined;
      steps.push(...way.map((status) => ({ status, source: status === version.status ? version : args.remote })));
      at = version.status;
    }
    return at === args.remote.status ? steps : undefined;
  }

  /**
   * The referral's conversation (Communications partOf its Task): the partner's messages are
   * recorded here as the partner's, ours are posted to the partner's Task (once: If-None-Exist on
   * their identifier here). Answers the ids of ours sent so far.
   */
  private async conversation(partner: Partner, transfer: { ctx: RequestContext; services: FhirServices; type: 'export' | 'import' }, args: { local: Task & { id: string }; remote: Task; remoteUrl: string; requester: string; pushed: readonly string[] }): Promise<string[]> {
    const remoteId = args.remote.id as string;
    const { body } = await this.call(partner, transfer, { method: 'GET', path: `Communication?part-of=Task/${remoteId}&_count=100` });
    const theirs = ((body as Bundle | undefined)?.entry ?? []).map((e) => e.resource as Communication | undefined).filter((c): c is Communication => c?.resourceType === 'Communication');
    const asPartner = await this.asPartner(partner, 'referral-conversation');
    for (const message of theirs) {
      // Our own messages come back from the partner's server: they carry our identifier.
      if ((message.identifier ?? []).some((i) => i.system === `${this.w.services.settings.baseUrl}/Communication`)) continue;
      const identifier = { system: `${partner.baseUrl}/Communication`, value: message.id as string };
      if ((await findAll(asPartner.services, 'Communication', { identifier: `${identifier.system}|${identifier.value}` }, 1)).length > 0) continue;
      const copy: Communication & { id: string } = {
        resourceType: 'Communication',
        id: newId(),
        identifier: [identifier],
        partOf: [{ reference: `Task/${args.local.id}` }],
        ...(args.local.focus?.reference ? { basedOn: [{ reference: args.local.focus.reference }] } : {}),
        status: message.status,
        ...(args.local.for?.reference ? { subject: { reference: args.local.for.reference } } : {}),
        ...(message.sent ? { sent: message.sent } : {}),
        received: this.w.services.now().toISOString(),
        sender: { reference: partner.organization, display: partner.name },
        recipient: [{ reference: args.requester }],
        ...(message.payload ? { payload: message.payload.filter((p) => p.contentString !== undefined).map((p) => ({ contentString: p.contentString as string })) } : {}),
      };
      await writeOne(asPartner.services, asPartner.ctx, { kind: 'create', resource: copy });
    }
    const pushed = [...args.pushed];
    const ours = await findAll(transfer.services, 'Communication', { 'part-of': `Task/${args.local.id}` }, 100);
    for (const match of ours) {
      const message = match.resource as Communication;
      if (pushed.includes(match.id) || (message.identifier ?? []).some((i) => i.system === `${partner.baseUrl}/Communication`)) continue;
      const identifier = { system: `${this.w.services.settings.baseUrl}/Communication`, value: match.id };
      const outgoing: Communication = {
        resourceType: 'Communication',
        identifier: [identifier],
        partOf: [{ reference: `Task/${remoteId}` }],
        status: message.status,
        ...(args.remote.for?.reference && !/^https?:/.test(args.remote.for.reference) ? { subject: { reference: args.remote.for.reference } } : {}),
        ...(message.sent ? { sent: message.sent } : {}),
        sender: { reference: partner.ourOrganization ?? args.requester },
        recipient: [{ reference: partner.remoteOrganization ?? partner.organization }],
        ...(message.payload ? { payload: message.payload.filter((p) => p.contentString !== undefined).map((p) => ({ contentString: p.contentString as string })) } : {}),
      };
      await this.call(partner, { ...transfer, type: 'export', entities: [{ reference: `Communication/${match.id}` }] }, {
        method: 'POST',
        path: 'Communication',
        body: outgoing,
        headers: { 'if-none-exist': `identifier=${identifier.system}|${identifier.value}` },
      });
      pushed.push(match.id);
    }
    return pushed;
  }

  /** One status the partner moved the referral to, recorded as the partner's (its part: the owner). */
  private async recordStatus(partner: Partner, current: CurrentResource, change: { status: string; remote: Task; outputs: TaskOutput[] }): Promise<CurrentResource> {
    const { ctx, services } = await this.asPartner(partner, 'referral-follow');
    const { statusReason: _reason, ...task } = withoutServerMeta(current.resource) as Task & { id: string };
    const reason = STATUSES_NEEDING_REASON.has(change.status) ? (change.remote.statusReason ?? { text: `${change.status} by ${partner.name}` }) : undefined;
    const next: Task & { id: string } = {
      ...task,
      status: change.status as Task['status'],
      ...(reason ? { statusReason: reason } : {}),
      ...(change.remote.businessStatus ? { businessStatus: change.remote.businessStatus } : {}),
      lastModified: change.remote.lastModified ?? this.w.services.now().toISOString(),
      ...(change.outputs.length > 0 ? { output: [...(task.output ?? []), ...change.outputs] } : {}),
    };
    const { result } = await writeOne(services, ctx, { kind: 'update', method: 'PUT', ifMatchVersion: current.versionId, resource: next });
    this.w.log.info({ task: task.id, status: change.status, partner: partner.id }, 'referral status from partner recorded');
    return { ...result.version, resource: result.version.resource ?? next } as CurrentResource;
  }

  /**
   * What fulfilled the referral on the partner's server, recorded here, and the Task.output that
   * names it: the Procedures (SDOHCC: Task.output and Procedure?based-on), and the Observations the
   * partner returned as outcomes (in Task.output, or based on the request) — R4's Goal.outcomeReference
   * takes Observations, so these are what closing the loop links to the goal.
   */
  private async outcome(partner: Partner, args: { remote: Task; local: Task & { id: string }; requester: string }): Promise<TaskOutput[]> {
    const transfer = { ...(await this.as(args.requester, 'referral-outcome')), type: 'import' as const, entities: [{ reference: `Task/${args.local.id}` }] };
    const request = await readIfPresent(transfer.services.repo, 'ServiceRequest', (args.local.focus?.reference ?? '').split('/')[1] ?? '');
    const goal = (request?.resource as ServiceRequest | undefined)?.extension?.find((e) => e.url === PERTAINS_TO_GOAL)?.valueReference?.reference;
    const found = { Procedure: new Map<string, Resource>(), Observation: new Map<string, Resource>() };
    const typeOf = new Map<string, TaskOutput['type']>();
    for (const output of args.remote.output ?? []) {
      const reference = output.valueReference?.reference ?? '';
      const type = /(?:^|\/)(Procedure|Observation)\/[A-Za-z0-9\-.]{1,64}$/.exec(reference)?.[1] as keyof typeof found | undefined;
      if (!type) continue;
      const { body } = await this.call(partner, transfer, { method: 'GET', path: reference });
      const resource = body as Resource | undefined;
      if (resource?.resourceType === type && resource.id) {
        found[type].set(resource.id, resource);
        typeOf.set(`${type}/${resource.id}`, output.type);
      }
    }
    for (const basedOn of [...(args.remote.basedOn ?? []), args.remote.focus].flatMap((r) => (r?.reference ? [r.reference] : []))) {
      for (const type of ['Procedure', 'Observation'] as const) {
        const { body } = await this.call(partner, transfer, { method: 'GET', path: `${type}?based-on=${encodeURIComponent(basedOn)}` });
        for (const e of (body as Bundle | undefined)?.entry ?? []) {
          if (e.resource?.resourceType === type && e.resource.id) found[type].set(e.resource.id, e.resource);
        }
      }
    }
    const outputs: TaskOutput[] = [];
    for (const procedure of found.Procedure.values()) {
      const id = await this.recordProcedure(transfer, partner, { procedure: procedure as Procedure, local: args.local, goal });
      outputs.push({ type: { coding: [RESULTING_ACTIVITY] }, valueReference: { reference: `Procedure/${id}` } });
    }
    const partnerPatient = args.remote.for?.reference ? atPartner(args.remote.for.reference, partner.baseUrl) : undefined;
    for (const observation of found.Observation.values()) {
      if (!partnerPatient) break;
      const id = await this.recordObservation(transfer, partner, { observation: observation as Observation & { id: string }, remote: args.remote, local: args.local, partnerPatient: `Patient/${partnerPatient.id}` });
      if (id) outputs.push({ type: typeOf.get(`Observation/${observation.id as string}`) ?? { text: 'Outcome observation' }, valueReference: { reference: `Observation/${id}` } });
    }
    return outputs;
  }

  /** A partner's Procedure, recorded for our referral once (by its identifier on the partner's server), pertaining to the goal the referral served. */
  private async recordProcedure(transfer: { ctx: RequestContext; services: FhirServices }, partner: Partner, args: { procedure: Procedure; local: Task; goal: string | undefined }): Promise<string> {
    const identifier = { system: `${partner.baseUrl}/Procedure`, value: args.procedure.id as string };
    const existing = await findAll(transfer.services, 'Procedure', { identifier: `${identifier.system}|${identifier.value}` }, 1);
    if (existing[0]) return existing[0].id;
    const p = args.procedure;
    const copy: Procedure & { id: string } = {
      resourceType: 'Procedure',
      id: newId(),
      // SDOHCC Procedure: pertainsToGoal links what was done to the goal it was done for.
      ...(args.goal ? { extension: [{ url: PERTAINS_TO_GOAL, valueReference: { reference: args.goal } }] } : {}),
      identifier: [identifier],
      basedOn: [{ reference: args.local.focus?.reference as string }],
      status: p.status,
      ...(p.category ? { category: p.category } : {}),
      ...(p.code ? { code: p.code } : {}),
      subject: { reference: args.local.for?.reference as string },
      ...(p.performedDateTime ? { performedDateTime: p.performedDateTime } : {}),
      ...(p.performedPeriod ? { performedPeriod: p.performedPeriod } : {}),
      performer: [{ actor: { reference: partner.organization, display: partner.name } }],
      ...(p.outcome ? { outcome: p.outcome } : {}),
      ...(p.note ? { note: p.note } : {}),
    };
    const { result } = await writeOne(transfer.services, transfer.ctx, { kind: 'create', resource: copy });
    return result.version.id;
  }

  /**
   * A partner's outcome Observation, recorded for our referral once (by its identifier on the
   * partner's server), based on our ServiceRequest; undefined when it is about someone else.
   */
  private async recordObservation(
    transfer: { ctx: RequestContext; services: FhirServices },
    partner: Partner,
    args: { observation: Observation & { id: string }; remote: Task; local: Task; partnerPatient: string },
  ): Promise<string | undefined> {
    const person = personOf(args.observation);
    const about = person === undefined ? undefined : atPartner(person, partner.baseUrl);
    if (!about || `${about.type}/${about.id}` !== args.partnerPatient) return undefined;
    const identifier = sourceIdentifier(partner.baseUrl, 'Observation', args.observation.id);
    const existing = await findAll(transfer.services, 'Observation', { identifier: `${searchToken(identifier.system as string)}|${identifier.value as string}` }, 1);
    if (existing[0]) return existing[0].id;
    const ourRequest = args.local.focus?.reference as string;
    // The partner's requests for this referral (its Task's focus and basedOn) are ours here.
    const requests = [...(args.remote.basedOn ?? []), args.remote.focus].flatMap((r) => {
      const at = r?.reference ? atPartner(r.reference, partner.baseUrl) : undefined;
      return at?.type === 'ServiceRequest' ? [[`ServiceRequest/${at.id}`, ourRequest] as const] : [];
    });
    const naming: Naming = { partnerBase: partner.baseUrl, partnerPatient: args.partnerPatient, ourPatient: args.local.for?.reference as string, copies: new Map(requests), organizations: partnerOrganizations(partner, transfer.ctx.caller.organization as string) };
    const copy: Observation & { id: string } = { ...supportingCopy(args.observation, { id: newId(), naming }), basedOn: [{ reference: ourRequest }] };
    const { result } = await writeOne(transfer.services, transfer.ctx, { kind: 'create', resource: copy });
    return result.version.id;
  }

  /**
   * The referral ended: our ServiceRequest follows (completed, or revoked), the goal it served
   * gets a note and the outcome Observations, and the case's timeline an event, in the referring
   * organisation's name, each through the write pipeline.
   */
  private async closeLoop(requester: string, task: Task & { id: string }, partner: Partner): Promise<void> {
    const { ctx, services } = await this.as(requester, 'referral-close');
    const requestId = (task.focus?.reference ?? '').split('/')[1] ?? '';
    const request = await readIfPresent(services.repo, 'ServiceRequest', requestId);
    if (!request) return;
    const sr = withoutServerMeta(request.resource) as ServiceRequest & { id: string };
    const status = REQUEST_STATUS[task.status];
    if (status && sr.status !== status) {
      await writeOne(services, ctx, { kind: 'update', method: 'PUT', ifMatchVersion: request.versionId, resource: { ...sr, status } });
    }
    const at = this.w.services.now().toISOString();
    const summary = `Referral ${task.status} by ${partner.name}${task.statusReason?.text ? `: ${task.statusReason.text}` : ''}`;
    const goalId = sr.extension?.find((e) => e.url === PERTAINS_TO_GOAL)?.valueReference?.reference?.split('/')[1];
    const goal = goalId ? await readIfPresent(services.repo, 'Goal', goalId) : undefined;
    if (goal) {
      // Each part is done once, whatever the number of attempts. The outcome Observations go to
      // Goal.outcomeReference ("what's changed"); achievementStatus is left alone: whether the goal
      // is achieved is the case manager's judgement, not the referral's.
      const g = withoutServerMeta(goal.resource) as Goal & { id: string };
      const linked = new Set((g.outcomeReference ?? []).map((r) => r.reference));
      const outcomes = (task.output ?? []).flatMap((o) => (o.valueReference?.reference?.startsWith('Observation/') && !linked.has(o.valueReference.reference) ? [{ reference: o.valueReference.reference }] : []));
      const noted = (g.note ?? []).some((n) => n.text === summary);
      if (!noted || outcomes.length > 0) {
        const next: Goal & { id: string } = {
          ...g,
          ...(noted ? {} : { note: [...(g.note ?? []), { text: summary, time: at }] }),
          ...(outcomes.length > 0 ? { outcomeReference: [...(g.outcomeReference ?? []), ...outcomes] } : {}),
        };
        await writeOne(services, ctx, { kind: 'update', method: 'PUT', ifMatchVersion: goal.versionId, resource: next });
      }
    }
    const caseId = sr.extension?.find((e) => e.url === WORKFLOW_EPISODE)?.valueReference?.reference?.split('/')[1];
    const noteId = `referral-outcome-${task.id}`.slice(0, 64);
    if (caseId && !(await readIfPresent(services.repo, 'DocumentReference', noteId))) {
      const outputs = (task.output ?? []).flatMap((o) => (o.valueReference?.reference ? [o.valueReference.reference] : []));
      const text = `${summary}.${outputs.length > 0 ? ` Outcome: ${outputs.join(', ')}.` : ''}`;
      const caseRecord = await loadCase(services, caseId);
      const note = caseNote({
        id: noteId,
        caseRecord,
        type: 'social-work-note',
        text,
        date: at,
        author: { reference: requester } as Reference<never>,
        context: [],
        period: { start: at },
        description: 'Referral outcome',
      });
      await writeOne(services, ctx, { kind: 'create', resource: note });
    }
    this.w.log.info({ task: task.id, status: task.status, partner: partner.id }, 'referral loop closed');
  }
}
