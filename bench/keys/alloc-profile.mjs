/**
 * Preloaded into the gateway by `npm run bench -- keys --alloc-prof DIR` (`node --import`): a sampling
 * heap profile of everything allocated between two SIGUSR2 (the bench sends them around the 2,000/s run),
 * objects the GC already collected included (`node --heap-prof` keeps only what is still alive at exit,
 * which hides the short-lived garbage that makes the scavenges). Written to
 * $KEYS_ALLOC_PROF_DIR/keys-alloc-<pid>.heapprofile (Chrome DevTools, Memory tab). With
 * KEYS_ALLOC_PROF_SURVIVORS=1 (`--alloc-survivors`), only what survived the scavenges: the samples the
 * young generation collected are left out, which leaves what was promoted (or was still young at the end).
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const dir = process.env.KEYS_ALLOC_PROF_DIR;
const survivors = process.env.KEYS_ALLOC_PROF_SURVIVORS === '1';
let minorGc = () => undefined;
if (dir && survivors) {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc');
  minorGc = () => gc({ type: 'minor' });
}
if (dir) {
  const session = new Session();
  session.connect();
  let running = false;
  process.on('SIGUSR2', () => {
    if (!running) {
      running = true;
      session.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: !survivors });
      return;
    }
    running = false;
    // The garbage still in the young generation would count as survivors: two scavenges collect it first.
    if (survivors) for (let i = 0; i < 2; i++) minorGc();
    session.post('HeapProfiler.stopSampling', (err, res) => {
      if (!err) writeFileSync(join(dir, `keys-${survivors ? 'survivors' : 'alloc'}-${process.pid}.heapprofile`), JSON.stringify(res.profile));
    });
  });
}
