/**
 * CaseBridge's profiles and the other conformance resources of profiles/: loading (load.ts),
 * compiling differentials (compile.ts), checking resources that claim a profile (check.ts).
 */
export { MAX_PROFILE_ISSUES, referencedType } from './check';
export { ProfileError, compileProfile } from './compile';
export { defaultProfilesDirectory, loadConformancePackage, readConformanceResources } from './load';
export type { CompiledProfile, ElementRule } from './model';
export { ConformancePackage, buildConformancePackage } from './package';
export { equalsFixed, matchesPattern } from './values';
