/**
 * The workflows' operational records (outbox, leases, export jobs and their files, partners,
 * subscription state, scan checkpoints): mongoose models on the FHIR store's connection, beside
 * the security records (index.ts). Created with their indexes at start-up (idempotent).
 */
import type { MongoConnection } from '../../platform/mongo';
import { type Checkpoints, checkpoints } from './checkpoints';
import { recordsConnection } from './connection';
import { type ExportFiles, exportFiles } from './export-files';
import { type ExportJobs, exportJobs } from './export-jobs';
import { type Leases, leases } from './leases';
import { type Outbox, outbox } from './outbox';
import { type Partners, partners } from './partners';
import { type SubscriptionStates, subscriptionStates } from './subscription-state';

export interface WorkflowRecords {
  readonly outbox: Outbox;
  readonly leases: Leases;
  readonly exportJobs: ExportJobs;
  readonly exportFiles: ExportFiles;
  readonly partners: Partners;
  readonly subscriptions: SubscriptionStates;
  readonly checkpoints: Checkpoints;
}

export async function workflowRecords(connection: MongoConnection): Promise<WorkflowRecords> {
  const odm = recordsConnection(connection);
  const parts = {
    outbox: outbox(odm),
    leases: leases(odm),
    exportJobs: exportJobs(odm),
    exportFiles: exportFiles(odm),
    partners: partners(odm),
    subscriptions: subscriptionStates(odm),
    checkpoints: checkpoints(odm),
  };
  type Created = { createCollection(): Promise<unknown>; createIndexes(): Promise<unknown> };
  const models = Object.values(parts).flatMap((part): Created[] => ('models' in part ? [...part.models] : [part.model]));
  for (const model of models) {
    await model.createCollection().catch((error: unknown) => {
      // NamespaceExists (48): made by an earlier start.
      if ((error as { code?: unknown }).code !== 48) throw error;
    });
    await model.createIndexes();
  }
  return {
    outbox: parts.outbox.records,
    leases: parts.leases.records,
    exportJobs: parts.exportJobs.records,
    exportFiles: parts.exportFiles.records,
    partners: parts.partners.records,
    subscriptions: parts.subscriptions.records,
    checkpoints: parts.checkpoints.records,
  };
}
