// Lint encodes the architecture (docs/architecture.md): imports point inward and downward,
//   http → rest/operations/casemgmt/workflows → core → auth/audit → store → search → fhir; config, platform are leaves,
// and no module imports itself back through others (.dependency-cruiser.cjs, run by `npm run lint`).
import tseslint from 'typescript-eslint';

/** Folders each src/ folder must not import from (relative imports are matched by pattern). */
const forbidden = {
  config: ['platform', 'fhir', 'search', 'store', 'core', 'rest', 'operations', 'casemgmt', 'workflows', 'auth', 'audit', 'http'],
  platform: ['fhir', 'search', 'store', 'core', 'rest', 'operations', 'casemgmt', 'workflows', 'auth', 'audit', 'http'],
  fhir: ['search', 'store', 'core', 'rest', 'operations', 'casemgmt', 'workflows', 'auth', 'audit', 'http', 'platform'],
  search: ['store', 'core', 'rest', 'operations', 'casemgmt', 'workflows', 'auth', 'audit', 'http', 'platform'],
  store: ['core', 'rest', 'operations', 'casemgmt', 'workflows', 'auth', 'audit', 'http'],
  auth: ['core', 'rest', 'operations', 'casemgmt', 'workflows', 'http'],
  audit: ['core', 'rest', 'operations', 'casemgmt', 'workflows', 'http'],
  // What every entry point shares (services, request context, write pipeline): below them all.
  core: ['rest', 'operations', 'casemgmt', 'workflows', 'http'],
  rest: ['operations', 'casemgmt', 'workflows', 'http'],
  operations: ['casemgmt', 'workflows', 'http'],
  workflows: ['http'],
  casemgmt: ['http'],
  http: [],
};

const boundaryRules = Object.entries(forbidden).map(([folder, banned]) => ({
  files: [`src/${folder}/**/*.ts`],
  rules: {
    'no-restricted-imports': ['error', {
      patterns: [
        // Relative imports only: `../core/x` is our src/core, `@medplum/core` is a package.
        ...banned.map((b) => ({ group: [`./${b}`, `./${b}/*`, `../**/${b}`, `../**/${b}/*`], message: `src/${folder} must not depend on src/${b}.` })),
        // Only store/ talks to the database (the driver for resources, mongoose for our own
        // records, src/store/records); only http/ knows express.
        ...(folder === 'store' || folder === 'platform' ? [] : [{ group: ['mongodb', 'mongoose'], message: 'Only src/store and src/platform import the database driver or mongoose.' }]),
        ...(folder === 'http' ? [] : [{ group: ['express', 'helmet'], message: 'Only src/http knows express.' }]),
      ],
    }],
  },
}));

export default tseslint.config(
  { ignores: ['dist/**', 'generated/**', 'node_modules/**', 'coverage/**', '.cache/**', '*.cjs', '*.mjs'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      'no-console': 'error',
      'max-params': ['error', 4],
      eqeqeq: ['error', 'always'],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
    },
  },
  ...boundaryRules,
  {
    files: ['test/**/*.ts', 'scripts/**/*.ts', 'bench/**/*.ts'],
    rules: { 'no-console': 'off', 'max-params': 'off' },
  },
);
