import 'reflect-metadata';
import { beforeEach } from 'vitest';
import { forgetEndedGateways, gatewayLogs } from './support/gateway-process.js';

// A test that failed against a gateway started as its own process shows that process's log (the
// killed ones of a crash test included): the cause of an INTERNAL_SERVER_ERROR is only there.
beforeEach(({ onTestFailed }) => {
  forgetEndedGateways();
  onTestFailed(() => {
    for (const g of gatewayLogs()) console.error(`--- ${g.name} printed ---\n${g.output || '(nothing)'}`);
  });
});
