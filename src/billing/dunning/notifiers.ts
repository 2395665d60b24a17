/** The notifiers the configuration asks for: the log line always, the signed webhook when configured. */
import type { Config } from '../../config.js';
import type { Logger } from '../../log.js';
import { logNotifier } from './log-notifier.js';
import type { DunningNotifier } from './notification.js';
import { webhookNotifier } from './webhook-notifier.js';

export function configuredNotifiers(config: Config['dunning'], log: Logger): DunningNotifier[] {
  const notifiers = [logNotifier(log.child({ module: 'dunning' }))];
  if (config.webhookUrl && config.webhookSecret) {
    notifiers.push(webhookNotifier({ url: config.webhookUrl, secret: config.webhookSecret, log: log.child({ module: 'dunning-webhook' }) }));
  }
  return notifiers;
}
