// Import cycles in src/ fail `npm run lint` (and so `npm test`). Type-only imports count: a
// cycle of types still ties two modules together, and is how layers start to leak.
// The layer rules themselves are in eslint.config.mjs (no-restricted-imports per folder).
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycle',
      severity: 'error',
      comment: 'A module must not import itself back through other modules (docs/architecture.md).',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Keep `import type` edges (TypeScript erases them from the compiled JavaScript).
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.json'] },
  },
};
