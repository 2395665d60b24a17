// Types of heap-flags.js (plain JS: the bin runs before, and without, the compiled tree).
export declare const GATEWAY_HEAP_FLAGS: readonly string[];
export declare function missingHeapFlags(execArgv?: readonly string[], nodeOptions?: string): string[];
