/**
 * What one request showed outside the organisation that owns it: sensitive resources disclosed
 * under consent, as the request's scoped repository reports them (AccessScope.onDisclosure). The
 * audit takes them into the request's AuditEvent (rest/audit-hook.ts, http/audit.ts).
 */
import type { Disclosure } from '../store/repository';

/** What one request disclosed (store/repository.ts Disclosure), kept until the audit takes it. */
export class Disclosures {
  private held: Disclosure[] = [];

  add(disclosure: Disclosure): void {
    this.held.push(disclosure);
  }

  /** Everything disclosed since the last take; a Bundle entry's audit takes its own before the Bundle's. */
  take(): Disclosure[] {
    const taken = this.held;
    this.held = [];
    return taken;
  }
}
