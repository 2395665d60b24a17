// V8 heap settings for the long-running gateway processes (`serve`, `webhook`, `npm start`, the Docker image).
// With Node's defaults the young generation grows to 64 MiB semi-spaces and V8 lets the old generation grow
// to 4× its live size on a machine with memory to spare: a gateway whose live heap is ~55 MB sits at ~170 MB
// RSS idle and reaches 450–550 MB under load (no leak: garbage not yet collected).
// - 8 MiB semi-spaces: ~25 MB less idle (the young generation grows to its maximum during start-up).
// - --max-old-space-size=1024: below 2 GB V8 grows the old generation by ~1.6× instead of 4× (and 1 GB is a
//   hard cap far above the live heap). Smaller caps (256, 512) grow it by 1.3–1.4× and cost far more CPU.
// Together ≈ 15–40% more CPU per read request than the defaults (busy 2-core machine); see bench/README.md (`npm run bench -- memory`).
// Both flags are allowed in NODE_OPTIONS; one set there or on the command line wins over the value here.
export const GATEWAY_HEAP_FLAGS = ['--max-semi-space-size=8', '--max-old-space-size=1024'];

/** The flags of GATEWAY_HEAP_FLAGS that neither the command line nor NODE_OPTIONS sets already. */
export function missingHeapFlags(execArgv = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? '') {
  const given = [...execArgv, ...nodeOptions.split(/\s+/)].map((arg) => arg.split('=')[0].replaceAll('_', '-'));
  return GATEWAY_HEAP_FLAGS.filter((flag) => !given.includes(flag.split('=')[0]));
}
