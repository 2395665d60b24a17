/**
 * DUNNING_* variables and BILLING_GRACE_PERIOD_DAYS: the schedule parser's rules, the default schedule
 * the grace period shapes, and the checks between variables.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultDunningSchedule, graceDaysOf, parseDunningSchedule } from '../../src/dunning-schedule.js';
import { ConfigError, loadConfig } from '../../src/config.js';

const base = { NODE_ENV: 'test', AUTH_JWT_SECRET: 'x'.repeat(40), DATA_DIR: mkdtempSync(join(tmpdir(), 'cfg-dunning-')) };

function errorOf(env: Record<string, string>): ConfigError {
  try {
    loadConfig({ ...base, ...env });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('DUNNING_SCHEDULE', () => {
  it('defaults to the seed plans: reminder day 1, warning day 4, soft suspension day 7, suspension day 8', () => {
    const c = loadConfig(base);
    expect(c.dunning.schedule).toEqual([
      { action: 'reminder', day: 1 },
      { action: 'warning', day: 4 },
      { action: 'soft_suspension', day: 7 },
      { action: 'suspension', day: 8 },
    ]);
    expect(c.billingGracePeriodDays).toBe(7);
    expect(c.dunning).toMatchObject({ webhookUrl: undefined, webhookSecret: undefined, tickSeconds: 30 });
  });

  it('parses action:day steps, spaces allowed', () => {
    const c = loadConfig({ ...base, DUNNING_SCHEDULE: ' reminder:0, reminder:2 ,warning:5,soft_suspension:10,suspension:14 ' });
    expect(c.dunning.schedule.map((s) => `${s.action}@${s.day}`)).toEqual(['reminder@0', 'reminder@2', 'warning@5', 'soft_suspension@10', 'suspension@14']);
    expect(c.billingGracePeriodDays).toBe(10);
    // Notices only: access is never restricted.
    expect(parseDunningSchedule('reminder:3')).toEqual([{ action: 'reminder', day: 3 }]);
  });

  it.each([
    ['an unknown action', 'reminder:1,lockout:4'],
    ['a missing day', 'reminder'],
    ['a negative day', 'reminder:-1'],
    ['days not increasing', 'warning:4,reminder:4'],
    ['days going back', 'reminder:5,warning:2'],
    ['two suspensions', 'suspension:3,suspension:5'],
    ['a step after the suspension', 'suspension:3,reminder:5'],
    ['no step at all', ' , '],
  ])('refuses %s, naming the variable', (_what, value) => {
    const err = errorOf({ DUNNING_SCHEDULE: value });
    expect(err.variable).toBe('DUNNING_SCHEDULE');
    expect(err.message).toMatch(/^DUNNING_SCHEDULE: expected comma-separated action:day steps/);
  });

  it('must agree with BILLING_GRACE_PERIOD_DAYS when both are set', () => {
    const ok = loadConfig({ ...base, DUNNING_SCHEDULE: 'warning:2,soft_suspension:3,suspension:5', BILLING_GRACE_PERIOD_DAYS: '3' });
    expect(ok.billingGracePeriodDays).toBe(3);
    const err = errorOf({ DUNNING_SCHEDULE: 'reminder:1,soft_suspension:7', BILLING_GRACE_PERIOD_DAYS: '5' });
    expect(err.variable).toBe('DUNNING_SCHEDULE');
    expect(err.message).toContain('day 5');
  });
});

describe('BILLING_GRACE_PERIOD_DAYS alone shapes the default schedule', () => {
  it.each([
    [7, 'reminder:1,warning:4,soft_suspension:7,suspension:8'],
    [10, 'reminder:1,warning:7,soft_suspension:10,suspension:11'],
    // The warning falls on the reminder's day: it replaces it.
    [4, 'warning:1,soft_suspension:4,suspension:5'],
    [2, 'reminder:1,soft_suspension:2,suspension:3'],
    [0, 'soft_suspension:0,suspension:1'],
  ])('%i days → %s', (days, expected) => {
    const c = loadConfig({ ...base, BILLING_GRACE_PERIOD_DAYS: String(days) });
    expect(c.dunning.schedule.map((s) => `${s.action}:${s.day}`).join(',')).toBe(expected);
    expect(c.billingGracePeriodDays).toBe(days);
    expect(graceDaysOf(defaultDunningSchedule(days))).toBe(days);
  });
});

describe('DUNNING_WEBHOOK_URL and DUNNING_WEBHOOK_SECRET', () => {
  it('go together', () => {
    const c = loadConfig({ ...base, DUNNING_WEBHOOK_URL: 'https://hooks.example.com/dunning', DUNNING_WEBHOOK_SECRET: 's'.repeat(20), DUNNING_TICK_SECONDS: '5' });
    expect(c.dunning).toMatchObject({ webhookUrl: 'https://hooks.example.com/dunning', webhookSecret: 's'.repeat(20), tickSeconds: 5 });
    expect(errorOf({ DUNNING_WEBHOOK_URL: 'https://hooks.example.com/dunning' }).variable).toBe('DUNNING_WEBHOOK_SECRET');
    expect(errorOf({ DUNNING_WEBHOOK_SECRET: 's'.repeat(20) }).variable).toBe('DUNNING_WEBHOOK_URL');
  });

  it('refuses a bad URL or a short secret without echoing the secret', () => {
    expect(errorOf({ DUNNING_WEBHOOK_URL: 'ftp://x', DUNNING_WEBHOOK_SECRET: 's'.repeat(20) }).variable).toBe('DUNNING_WEBHOOK_URL');
    const err = errorOf({ DUNNING_WEBHOOK_URL: 'https://hooks.example.com/', DUNNING_WEBHOOK_SECRET: 'tooShortSecret' });
    expect(err.variable).toBe('DUNNING_WEBHOOK_SECRET');
    expect(err.message).not.toContain('tooShortSecret');
    expect(errorOf({ DUNNING_TICK_SECONDS: '0' }).variable).toBe('DUNNING_TICK_SECONDS');
  });
});
