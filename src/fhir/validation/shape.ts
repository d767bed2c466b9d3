/**
 * Stage 1: the input is a JSON object whose resourceType is a concrete R4 type, and the type the
 * request names. Nothing else can be checked without a type, so a failure here ends validation.
 * See: https://hl7.org/fhir/R4/json.html#resources
 */
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { isResourceType } from '../definitions';
import { makeIssue } from './issues';
import { excerpt, isObject, jsonType } from './json';

/** The resource type when the input has a known one (then issues holds at most a type mismatch). */
export interface Shape {
  type?: string;
  issues: OperationOutcomeIssue[];
}

export function checkShape(resource: unknown, expectedType?: string): Shape {
  if (!isObject(resource)) {
    return {
      issues: [
        makeIssue({
          type: 'structure',
          message: `A resource must be a JSON object, not ${jsonType(resource)}`,
          expression: [expectedType ?? 'Resource'],
        }),
      ],
    };
  }
  const resourceType = resource.resourceType;
  if (typeof resourceType !== 'string' || resourceType === '') {
    return {
      issues: [
        makeIssue({
          type: 'required',
          message:
            resourceType === undefined || resourceType === ''
              ? 'Missing resourceType'
              : `resourceType must be a string, not ${excerpt(resourceType)}`,
          expression: ['resourceType'],
        }),
      ],
    };
  }
  if (!isResourceType(resourceType)) {
    return {
      issues: [
        makeIssue({
          type: 'not-supported',
          code: 'UNKNOWN_TYPE',
          message: `Unknown resource type ${excerpt(resourceType)}: not an R4 resource type`,
          expression: ['resourceType'],
        }),
      ],
    };
  }
  const issues: OperationOutcomeIssue[] = [];
  if (expectedType !== undefined && resourceType !== expectedType) {
    issues.push(
      makeIssue({
        type: 'invalid',
        code: 'RESOURCE_TYPE_MISMATCH',
        message: `Resource type "${resourceType}" does not match the expected type "${expectedType}"`,
        expression: ['resourceType'],
      }),
    );
  }
  return { type: resourceType, issues };
}
