import { type JsonSchema, object, recordedBy, text } from './common';

/** POST /cm/v1/documentation-requests/{requestId}/approve — release what the payer asked for. */
export const approveDocumentationRequestSchema: JsonSchema = object({
  note: text('A note kept on the request (Task.note), e.g. what was checked', 2000),
  recordedBy,
});

export interface ApproveDocumentationRequestPayload {
  note?: string;
  recordedBy?: string;
}

/** POST /cm/v1/documentation-requests/{requestId}/decline — refuse it, saying why (the payer reads the reason). */
export const declineDocumentationRequestSchema: JsonSchema = object(
  {
    reason: text('Why the request is declined: the payer reads it (Task.statusReason)', 1000),
    note: text('An internal note kept on the request (Task.note)', 2000),
    recordedBy,
  },
  { required: ['reason'] },
);

export interface DeclineDocumentationRequestPayload {
  reason: string;
  note?: string;
  recordedBy?: string;
}
