/** The default notifier: one log line per notification (`dunning_reminder customer=cus_x … retry=1`). */
import type { Logger } from '../../log.js';
import { notificationLine, type DunningNotification, type DunningNotifier } from './notification.js';

export function logNotifier(log: Logger): DunningNotifier {
  return {
    name: 'log',
    async notify(n: DunningNotification) {
      log.info({ notification: n.type, caseId: n.caseId, notificationId: n.id }, notificationLine(n));
    },
  };
}
