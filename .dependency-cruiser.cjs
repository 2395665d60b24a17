/**
 * The gateway's layers (docs/architecture.md), checked by `npm run lint:deps` in CI:
 * no import cycles (type-only imports included), every import of src/ points down the layer map,
 * and the Stripe emulator is its own package, reached only through its entry.
 */

/** Top to bottom. A module may import its own layer and any layer below it, never one above. */
const LAYERS = [
  { name: 'entry', paths: ['^src/cli/', '^src/(main|gateway|workers)\\.ts$'] },
  { name: 'http', paths: ['^src/http/'] },
  { name: 'graphql', paths: ['^src/graphql/'] },
  { name: 'billing', paths: ['^src/billing/'] },
  // Siblings on one floor: the Stripe side and the signal bus know nothing of each other.
  { name: 'stripe', paths: ['^src/stripe/'], floor: 'stripe-events' },
  { name: 'events', paths: ['^src/events/'], floor: 'stripe-events' },
  { name: 'db', paths: ['^src/db/'] },
  {
    name: 'shared',
    paths: [
      '^src/(config|log|metrics|money|errors|paths|catalog|dunning-schedule|request-body)\\.ts$',
      '^src/(auth|jobs|mrr|text)/',
    ],
  },
];

const floorOf = (layer) => layer.floor ?? layer.name;
const floors = [...new Set(LAYERS.map(floorOf))];

const layerRules = LAYERS.map((layer) => {
  const below = floors.indexOf(floorOf(layer));
  const above = LAYERS.filter((other) => floors.indexOf(floorOf(other)) < below).flatMap((other) => other.paths);
  const siblings = LAYERS.filter((other) => other !== layer && floorOf(other) === floorOf(layer)).flatMap((other) => other.paths);
  return {
    name: `layer-${layer.name}`,
    comment: `${layer.name} imports only its own layer and those below it (docs/architecture.md).`,
    severity: 'error',
    from: { path: layer.paths },
    to: { path: [...above, ...siblings] },
  };
}).filter((rule) => rule.to.path.length > 0);

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No import cycles, type-only imports included: a cycle makes load order (and reading order) matter.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'src-only-mapped',
      comment: 'Every module of src/ sits on a layer of the map: add a new top-level folder to LAYERS.',
      severity: 'error',
      from: { path: '^src/', pathNot: LAYERS.flatMap((l) => l.paths) },
      to: {},
    },
    ...layerRules,
    {
      name: 'graphql-through-services',
      comment: 'Resolvers reach Stripe through billing services; the request context only wraps the client it hands them.',
      severity: 'error',
      from: { path: '^src/graphql/' },
      to: { path: '^src/stripe/', pathNot: '^src/stripe/(client|call-budget)\\.ts$' },
    },
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
