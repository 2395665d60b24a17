import cliProgress from 'cli-progress';
import { runningInGateway } from './in-gateway.js';

export interface Progress {
  update(done: number, total: number, label: string): void;
  stop(): void;
}

/**
 * A progress bar on stderr when it is a terminal (and the output is not JSON); silent otherwise,
 * so pipes and CI logs get no control characters. Never inside a gateway: its stderr is not the caller's.
 */
export function createProgress(title: string, enabled = !!process.stderr.isTTY): Progress {
  if (!enabled || runningInGateway()) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    { format: `${title} [{bar}] {value}/{total} {label}`, hideCursor: true, clearOnComplete: false, stream: process.stderr },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total, label) {
      if (!started) {
        bar.start(total, 0, { label: '' });
        started = true;
      }
      bar.setTotal(total);
      bar.update(done, { label });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
