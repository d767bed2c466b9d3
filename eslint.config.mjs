// Lint encodes the architecture: imports point inward and downward.
//   http → rest/operations/casemgmt/workflows → auth/audit → store → search → fhir; config, platform are leaves.
import tseslint from 'typescript-eslint';

/** Folders each src/ folder must not import from (relative imports are matched by pattern). */
const forbidden = {
  config: ['platform', 'fhir', 'search', 'store', 'rest', 'operations', 'casemgmt', 'workflows', 'auth', 'audit', 'http'],
  platform: ['fhir', 'search', 'store', 'rest', 'operations', 'casemgmt', 'workflows', 'auth', 'audit', 'http'],
  fhir: ['search', 'store', 'rest', 'operations', 'casemgmt', 'workflows', 'auth', 'audit', 'http', 'platform'],
  search: ['store', 'rest', 'operations', 'casemgmt', 'workflows', 'auth', 'audit', 'http', 'platform'],
  store: ['rest', 'operations', 'casemgmt', 'workflows', 'auth', 'audit', 'http'],
  auth: ['rest', 'operations', 'casemgmt', 'workflows', 'http'],
  audit: ['rest', 'operations', 'casemgmt', 'workflows', 'http'],
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
        ...banned.map((b) => ({ group: [`**/${b}/*`, `**/${b}`], message: `src/${folder} must not depend on src/${b}.` })),
        // Only store/ talks to the database driver; only http/ knows express.
        ...(folder === 'store' || folder === 'platform' ? [] : [{ group: ['mongodb'], message: 'Only src/store and src/platform import the database driver.' }]),
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
