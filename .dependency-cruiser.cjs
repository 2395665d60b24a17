/**
 * The Stripe emulator is its own package: the rest of the repository reaches it only through its
 * entry (`@billing-gateway/stripe-emulator`), and it never reaches into the gateway.
 */
module.exports = {
  forbidden: [
    {
      name: 'emulator-entry-only',
      comment: 'Import the emulator through @billing-gateway/stripe-emulator, not its internals.',
      severity: 'error',
      from: { pathNot: '^packages/stripe-emulator/' },
      to: { path: '^packages/stripe-emulator/', pathNot: '^packages/stripe-emulator/src/index\\.ts$' },
    },
    {
      name: 'emulator-not-into-gateway',
      comment: 'The emulator runs on its own: no imports from the gateway.',
      severity: 'error',
      from: { path: '^packages/stripe-emulator/' },
      to: { pathNot: ['^packages/stripe-emulator/', '^node_modules/'], dependencyTypesNot: ['core'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['(^|/)dist/', '^web/'] },
    tsConfig: { fileName: 'tsconfig.json' },
    // dependency-cruiser cannot use TypeScript 7's compiler API yet; swc parses the sources.
    parser: 'swc',
    tsPreCompilationDeps: true,
    combinedDependencies: true,
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['source', 'import', 'default'], mainFields: ['module', 'main', 'types'] },
  },
};
