/**
 * Runs Bulk Data exports (operations/export.ts kicks them off): one job at a time per instance,
 * each under a lease renewed as it goes (an instance that stops mid-way leaves the job to another,
 * which starts it again). The job reads as its requester may see the data — its kind,
 * organisation, scopes and purposes, with labels and consents — and writes one NDJSON file per
 * type, page by page into 1 MiB chunks, so memory stays constant however large the export.
 * For a Group, each member's compartment is read; for Patient/$export, every patient the client
 * may see. A cancelled job stops at its next page; finished jobs' files are deleted when they
 * expire (BULK_EXPORT_TTL_SECONDS), by the sweep.
 * See: https://hl7.org/fhir/uv/bulkdata/export.html
 */
import type { Group, Resource } from '@medplum/fhirtypes';
import type { FhirServices } from '../../core/services';
import { patientCompartment } from '../../fhir/compartments';
import { FhirError } from '../../fhir/outcomes';
import { stringifyFhirJson } from '../../fhir/json-text';
import { groupPatients } from '../../operations/export';
import { parseSearch } from '../../search/parse';
import type { ExportFile, ExportJob } from '../../store/records';
import type { SearchOptions } from '../../store/repository';
import { recordedCaller, servicesAs, workContext } from '../actors';
import type { WorkflowContext } from '../context';

const LEASE_MS = 5 * 60_000;

class LeaseLost extends Error {
  constructor(job: string) {
    super(`export ${job}: lease lost`);
  }
}
const PAGE = 500;

export class ExportWorker {
  constructor(private readonly w: WorkflowContext) {}

  async run(): Promise<number> {
    let done = 0;
    for (const job of await this.w.records.exportJobs.unfinished(5)) {
      done += (await this.w.leased(`export:${job.id}`, LEASE_MS, () => this.runJob(job.id))) ?? 0;
    }
    return done;
  }

  /** Deletes the files of expired and cancelled exports. */
  async sweep(): Promise<void> {
    for (const job of await this.w.records.exportJobs.expired(this.w.now(), 100)) {
      await this.w.records.exportFiles.removeJob(job.id);
      await this.w.records.exportJobs.remove(job.id);
    }
  }

  private async runJob(id: string): Promise<number> {
    const { exportJobs, exportFiles } = this.w.records;
    const job = await exportJobs.get(id);
    if (!job || (job.state !== 'accepted' && job.state !== 'in-progress')) return 0;
    // Taken over from an instance that stopped: its partial files go, the export starts again.
    if (job.state === 'in-progress') await exportFiles.removeJob(id);
    await exportJobs.started(id);
    const ctx = workContext(recordedCaller(job.requestedBy, `export:${id}`), this.w.log, 'export');
    const ttlMs = this.w.deps.settings.bulkExportTtlSeconds * 1000;
    try {
      if (!(await this.w.deps.clientActive(job.requestedBy.clientId))) throw new FhirError('FORBIDDEN', 'the requesting client’s registration is disabled');
      const scoped = await servicesAs(this.w.services, ctx);
      const output = await this.exportTypes(scoped, job, ctx);
      if (output === 'cancelled') return 1;
      const now = this.w.now();
      await exportJobs.finish(id, { state: 'completed', output, now, expires: new Date(now.getTime() + ttlMs) });
      this.w.log.info({ job: id, files: output.length, resources: output.reduce((n, f) => n + f.count, 0) }, 'export completed');
    } catch (err) {
      // Another instance holds the job now (this one stalled past its lease): it finishes it.
      if (err instanceof LeaseLost) return 0;
      const now = this.w.now();
      const message = err instanceof FhirError ? err.message : 'internal error';
      this.w.log.error({ err, job: id }, 'export failed');
      await exportFiles.removeJob(id);
      await exportJobs.finish(id, { state: 'failed', output: [], error: message, now, expires: new Date(now.getTime() + ttlMs) });
    }
    return 1;
  }

  /** One file per type with something in it; 'cancelled' when the job was cancelled meanwhile. */
  private async exportTypes(scoped: FhirServices, job: ExportJob, ctx: ReturnType<typeof workContext>): Promise<ExportFile[] | 'cancelled'> {
    const members = job.request.level === 'group' ? groupPatients((await scoped.repo.read('Group', (job.request.group as string).split('/')[1] as string)).resource as Group) : undefined;
    const output: ExportFile[] = [];
    for (const [i, type] of job.request.types.entries()) {
      const file = `${job.id}/${type}`;
      const writer = this.w.records.exportFiles.writer(job.id, file);
      let count = 0;
      const write = async (resource: Resource) => {
        await writer.write(`${stringifyFhirJson(resource)}\n`);
        count++;
      };
      const cancelled = await this.exportType(scoped, job, type, { members, write });
      const bytes = await writer.close();
      if (cancelled) return 'cancelled';
      if (count > 0) output.push({ type, file, count, bytes });
      // What the requester was shown of others' sensitive records in this file is recorded with it.
      await this.w.deps.audit.record(
        {
          type: 'export',
          remote: job.request.requestUrl,
          caller: ctx.caller,
          requestId: ctx.requestId,
          query: `${job.request.requestUrl} (${type}: ${count})`,
          entities: job.request.group ? [{ reference: job.request.group }] : [],
        },
        scoped,
      );
      await this.w.records.exportJobs.progress(job.id, `${i + 1} of ${job.request.types.length} types`);
      await this.w.records.leases.renew(`export:${job.id}`, this.w.deps.owner, new Date(this.w.now().getTime() + LEASE_MS));
    }
    return output;
  }

  /**
   * One type: everything visible (system level); the Patients and each one's compartment, a page of
   * patients at a time (Patient/$export); each member's (Group). True when cancelled meanwhile.
   */
  private async exportType(scoped: FhirServices, job: ExportJob, type: string, sink: { members: readonly string[] | undefined; write: (r: Resource) => Promise<void> }): Promise<boolean> {
    const { members, write } = sink;
    const since = job.request.since;
    if (job.request.level === 'system' || (job.request.level === 'patient' && type === 'Patient')) {
      return this.pages(scoped, job.id, { type, since }, write);
    }
    const compartment = async (patient: string) =>
      type === 'Patient'
        ? this.pages(scoped, job.id, { type, since, extra: { _id: [patient.split('/')[1] as string] } }, write)
        : this.pages(scoped, job.id, { type, since, options: { compartment: { params: { [type]: patientCompartment().get(type) ?? [] }, reference: patient } } }, write);
    if (members !== undefined) {
      for (const patient of members) if (await compartment(patient)) return true;
      return false;
    }
    // Every patient the requester may see, a page at a time: memory holds one page of ids.
    let cancelled = false;
    const patients: string[] = [];
    const flush = async () => {
      for (const patient of patients.splice(0)) if (!cancelled && (await compartment(patient))) cancelled = true;
    };
    const stopped = await this.pages(scoped, job.id, { type: 'Patient' }, async (p) => {
      patients.push(`Patient/${p.id as string}`);
      if (patients.length >= PAGE) await flush();
    });
    await flush();
    return stopped || cancelled;
  }

  /** Every page of one search, each resource written; true when the job was cancelled meanwhile. */
  private async pages(
    scoped: FhirServices,
    jobId: string,
    search: { type: string; since?: string | undefined; extra?: Record<string, string[]>; options?: SearchOptions },
    write: (r: Resource) => Promise<void>,
  ): Promise<boolean> {
    // Nothing changed after the transactionTime the manifest states (a job taken over and started
    // again exports the same instant), and with _since nothing before it.
    const job = await this.w.records.exportJobs.get(jobId);
    const bounds = [`le${(job?.transactionTime ?? this.w.now()).toISOString()}`, ...(search.since ? [`ge${search.since}`] : [])];
    const query: Record<string, string[]> = { _count: [String(PAGE)], ...(search.extra ?? {}), _lastUpdated: bounds };
    const request = parseSearch(search.type, query, scoped.registry, { strict: true, defaultCount: PAGE, maxCount: Math.max(PAGE, scoped.settings.maxPageSize), baseUrl: scoped.settings.baseUrl });
    let cursor: string | undefined;
    do {
      if ((await this.w.records.exportJobs.get(jobId))?.state === 'cancelled') return true;
      // The lease outlives each page, so no other instance takes over a long export mid-way.
      if (!(await this.w.records.leases.renew(`export:${jobId}`, this.w.deps.owner, new Date(this.w.now().getTime() + LEASE_MS)))) {
        throw new LeaseLost(jobId);
      }
      const page = await scoped.repo.search(request, { ...(search.options ?? {}), ...(cursor ? { cursor } : {}) });
      for (const match of page.matches) await write(match.resource);
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    return false;
  }
}
