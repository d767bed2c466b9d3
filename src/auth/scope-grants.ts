/**
 * Which interactions SMART scopes grant: (patient|user|system)/(Type|*).(c|r|u|d|s)+ (v2), and
 * the v1 forms read / write / * . See: https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html
 */
import type { AccessRequest, Interaction } from './caller';

/** Whether any of `scopes` grants `request`; interactions that check their own parts (Bundles, operations, capabilities) need none. */
export function permits(scopes: readonly string[], request: AccessRequest): boolean {
  const needed = permissionFor(request.interaction);
  if (needed === undefined) {
    return true;
  }
  return scopes.some((scope) => grants(scope, request.resourceType, needed));
}

function permissionFor(interaction: Interaction): 'c' | 'r' | 'u' | 'd' | 's' | undefined {
  switch (interaction) {
    case 'read':
    case 'vread':
    case 'history-instance':
    case 'history-type':
    case 'history-system':
      return 'r';
    case 'create':
      return 'c';
    case 'update':
    case 'patch':
      return 'u';
    case 'delete':
      return 'd';
    case 'search-type':
    case 'search-system':
      return 's';
    case 'capabilities':
    case 'batch':
    case 'transaction':
    case 'operation':
      // Bundles are checked entry by entry; operations check what they touch.
      return undefined;
  }
}

function grants(scope: string, resourceType: string | undefined, needed: string): boolean {
  const match = /^(patient|user|system)\/([A-Za-z]+|\*)\.([cruds]+|read|write|\*)$/.exec(scope);
  if (!match) {
    return false;
  }
  const [, , type, perms] = match as unknown as [string, string, string, string];
  if (type !== '*' && type !== resourceType) {
    return false;
  }
  // SMART v1 "read"/"write"/"*" map onto v2 letters.
  const letters = perms === '*' ? 'cruds' : perms === 'read' ? 'rs' : perms === 'write' ? 'cud' : perms;
  return letters.includes(needed);
}
