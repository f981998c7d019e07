/**
 * Import boundaries, checked by `npm run lint` (`depcruise`). ESLint's import-x `no-cycle` skips
 * `import type`; dependency-cruiser counts type-only imports too (`tsPreCompilationDeps`), and
 * resolves workspace packages to their source (the `@strata/source` condition) so a cycle or a
 * forbidden edge through a package boundary is seen.
 */
const sources = '^((packages|services)/[^/]+/(src|test|bench)/|test/|examples/|scripts/)';
const specOrTestSupport = '(\\.spec\\.ts$|/test/)';

module.exports = {
  forbidden: [
    {
      name: 'no-cycle',
      severity: 'error',
      comment: 'No import cycles, type imports included: a module and what it imports form a DAG.',
      from: {},
      to: {
        circular: true,
      },
    },
    {
      name: 'packages-not-services',
      severity: 'error',
      comment: 'services/* are composition roots: nothing in packages/ may import them.',
      from: { path: '^packages/' },
      to: { path: '^services/' },
    },
    {
      name: 'sdk-imports-only-core-contracts-views',
      severity: 'error',
      comment: 'The SDK ships to users: of the workspace it may use core, contracts and redis-views only.',
      from: { path: '^packages/sdk/src/', pathNot: specOrTestSupport },
      to: { path: '^(packages|services)/', pathNot: '^packages/(sdk|core|contracts|redis-views)/' },
    },
    {
      name: 'cli-imports-only-core-contracts',
      severity: 'error',
      comment: 'The CLI ships to users: of the workspace it may use core and contracts only.',
      from: { path: '^packages/cli/src/', pathNot: specOrTestSupport },
      to: { path: '^(packages|services)/', pathNot: '^packages/(cli|core|contracts)/' },
    },
  ],
  options: {
    includeOnly: sources,
    exclude: { path: '(node_modules|/dist/)' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.base.json' },
    preserveSymlinks: false,
    enhancedResolveOptions: {
      conditionNames: ['@strata/source', 'import', 'types', 'node', 'default'],
      exportsFields: ['exports'],
      extensions: ['.ts', '.tsx', '.js', '.d.ts'],
      mainFields: ['types', 'module', 'main'],
    },
    skipAnalysisNotInRules: true,
  },
};
