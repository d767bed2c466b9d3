/**
 * The issues every stage reports, and their collection across stages. A later stage does not
 * repeat an error an earlier stage reported at the same element or above it (Medplum and ajv
 * often see the same fault), and only the first MAX_ISSUES are kept, so that hostile input
 * (100,000 bad values) costs no more than needed.
 */
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { ERROR_CODE_SYSTEM } from '../outcomes';
import type { ErrorCode, IssueType } from '../outcomes';
import { excerpt } from './json';

/** Issues beyond this are summarised in one last issue. */
export const MAX_ISSUES = 100;

export interface IssueInit {
  type: IssueType;
  message: string;
  expression: string[];
  severity?: 'error' | 'warning';
  code?: ErrorCode;
  diagnostics?: string;
}

export function makeIssue(init: IssueInit): OperationOutcomeIssue {
  return {
    severity: init.severity ?? 'error',
    code: init.type,
    details: { coding: [{ system: ERROR_CODE_SYSTEM, code: init.code ?? 'INVALID_RESOURCE' }], text: init.message },
    diagnostics: init.diagnostics ?? init.message,
    expression: init.expression,
  };
}

/** A code outside its value set: the JSON schema's enums and the required bindings it lacks. */
export function invalidCode(value: unknown, allowed: Iterable<string>, expression: string): OperationOutcomeIssue {
  const codes = [...allowed];
  const shown = codes.length > 12 ? [...codes.slice(0, 12), `... (${codes.length - 12} more)`] : codes;
  return makeIssue({
    type: 'code-invalid',
    message: `Invalid code ${excerpt(value)}: value must be one of: ${shown.join(', ')}`,
    expression: [expression],
  });
}

export function issuePath(issue: OperationOutcomeIssue): string {
  return issue.expression?.[0] ?? '';
}

export function isError(issue: OperationOutcomeIssue): boolean {
  return issue.severity === 'error' || issue.severity === 'fatal';
}

/** True when `p` is `ancestor` or an element below it. */
export function within(p: string, ancestor: string): boolean {
  return (
    p.startsWith(ancestor) &&
    (p.length === ancestor.length || p[ancestor.length] === '.' || p[ancestor.length] === '[')
  );
}

/**
 * Collects the stages' issues; a stage cannot repeat an error an earlier stage reported. Keeps
 * the first MAX_ISSUES.
 */
export class IssueList {
  private readonly issues: OperationOutcomeIssue[] = [];
  private readonly errorPaths: string[] = [];
  private truncated = false;
  private omittedError = false;

  constructor(private readonly rootType: string) {}

  addStage(stage: readonly OperationOutcomeIssue[]): void {
    const seen = new Set<string>();
    const newErrorPaths: string[] = [];
    for (const issue of stage) {
      if (this.truncated) {
        this.omittedError ||= isError(issue);
        continue;
      }
      const p = issuePath(issue);
      const key = `${p}\u0000${issue.details?.text ?? ''}`;
      if (seen.has(key) || this.errorPaths.some((e) => within(p, e))) {
        continue;
      }
      if (this.issues.length === MAX_ISSUES) {
        this.truncated = true;
        this.omittedError = isError(issue);
        continue;
      }
      seen.add(key);
      this.issues.push(issue);
      // An error on the resource itself (e.g. a resource-level invariant) hides nothing below it.
      if (isError(issue) && p !== this.rootType && p !== 'resourceType') {
        newErrorPaths.push(p);
      }
    }
    this.errorPaths.push(...newErrorPaths);
  }

  /** Whether any stage reported an error. */
  hasErrors(): boolean {
    return this.omittedError || this.issues.some(isError);
  }

  /** Whether an error was reported at, above or below this element. */
  touchesError(p: string): boolean {
    return this.errorPaths.some((e) => within(e, p) || within(p, e));
  }

  result(): OperationOutcomeIssue[] {
    if (!this.truncated) {
      return this.issues;
    }
    return [
      ...this.issues,
      makeIssue({
        severity: this.omittedError || this.issues.some(isError) ? 'error' : 'warning',
        type: 'too-costly',
        message: `Further issues not reported: only the first ${MAX_ISSUES} are listed`,
        expression: [this.rootType],
      }),
    ];
  }
}
