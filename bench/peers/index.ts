/**
 * The sub-parts of `npm run bench -- peers`: each compares the gateway with the peer a team would
 * pick for the same job, on the same data in the same run. Add a comparison here; `--peers a,b`
 * runs only those (all by default).
 */
import type { BenchPart } from '../lib/part.ts';
import { reads } from './reads.ts';

export const PEER_SUBPARTS: readonly BenchPart[] = [reads];
