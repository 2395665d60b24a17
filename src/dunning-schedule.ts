/**
 * The dunning schedule: which step runs how many days after the first failed payment of an invoice,
 * counted on the customer's clock. `DUNNING_SCHEDULE` writes it as `action:day` pairs, e.g. the
 * default `reminder:1,warning:4,soft_suspension:7,suspension:8`.
 *
 * Actions: `reminder` and `warning` notify only (access stays GRACE); `soft_suspension` starts
 * SOFT_SUSPENDED, `suspension` starts SUSPENDED. Days are whole days ≥ 0, strictly increasing;
 * at most one soft_suspension and one suspension, the soft one first; nothing after the suspension.
 */
import { z } from 'zod';

export const DUNNING_ACTIONS = ['reminder', 'warning', 'soft_suspension', 'suspension'] as const;
export type DunningAction = (typeof DUNNING_ACTIONS)[number];

export interface DunningStep {
  action: DunningAction;
  /** Days after the first failure (day 0). */
  day: number;
}

export type DunningSchedule = DunningStep[];

const DAY_MS = 86_400_000;

const stepSchema = z
  .string()
  .trim()
  .regex(/^[a-z_]+:\d{1,3}$/, 'a step is action:day, e.g. reminder:1')
  .transform((s) => {
    const [action, day] = s.split(':') as [string, string];
    return { action, day: Number(day) };
  })
  .pipe(z.object({ action: z.enum(DUNNING_ACTIONS), day: z.number().int().min(0).max(365) }));

/** Cross-step rules; returns the first broken one, or null. */
function scheduleProblem(steps: readonly DunningStep[]): string | null {
  if (steps.length === 0) return 'at least one step';
  for (let i = 1; i < steps.length; i++) {
    if (steps[i]!.day <= steps[i - 1]!.day) return `days strictly increasing (${steps[i - 1]!.action}:${steps[i - 1]!.day} then ${steps[i]!.action}:${steps[i]!.day})`;
  }
  const soft = steps.filter((s) => s.action === 'soft_suspension');
  const hard = steps.filter((s) => s.action === 'suspension');
  if (soft.length > 1 || hard.length > 1) return 'at most one soft_suspension and one suspension';
  const hardAt = steps.findIndex((s) => s.action === 'suspension');
  if (hardAt !== -1 && hardAt !== steps.length - 1) return 'suspension as the last step';
  return null;
}

/** Zod schema of `DUNNING_SCHEDULE` (comma-separated `action:day`). */
export const dunningScheduleSchema = z
  .string()
  .transform((raw, ctx) => {
    const parts = raw.split(',').map((p) => p.trim()).filter(Boolean);
    const steps: DunningStep[] = [];
    for (const part of parts) {
      const r = stepSchema.safeParse(part);
      if (!r.success) {
        ctx.addIssue({ code: 'custom', message: `bad step ${JSON.stringify(part)}` });
        return z.NEVER;
      }
      steps.push(r.data);
    }
    const problem = scheduleProblem(steps);
    if (problem) {
      ctx.addIssue({ code: 'custom', message: problem });
      return z.NEVER;
    }
    return steps;
  });

/** Parses a `DUNNING_SCHEDULE` value; throws with the rule it breaks. */
export function parseDunningSchedule(raw: string): DunningSchedule {
  const r = dunningScheduleSchema.safeParse(raw);
  if (!r.success) throw new Error(r.error.issues.map((i) => i.message).join('; '));
  return r.data;
}

/**
 * The schedule when only `BILLING_GRACE_PERIOD_DAYS` (G) is given: a reminder on day 1, a warning three
 * days before the grace period ends, soft suspension on day G, suspension on day G + 1. Notices that
 * would not fall strictly inside the grace period (day ≥ 1, before G, after the previous one) are left out.
 * G = 7 gives the seed plans' schedule: reminder:1, warning:4, soft_suspension:7, suspension:8.
 */
export function defaultDunningSchedule(graceDays = 7): DunningSchedule {
  const notices: DunningStep[] = [];
  for (const step of [
    { action: 'reminder', day: 1 },
    { action: 'warning', day: graceDays - 3 },
  ] as const) {
    const last = notices.at(-1);
    if (step.day < 1 || step.day >= graceDays) continue;
    // A warning on or before the reminder's day replaces it (short grace periods).
    if (last && step.day <= last.day) notices.pop();
    notices.push({ ...step });
  }
  return [...notices, { action: 'soft_suspension', day: graceDays }, { action: 'suspension', day: graceDays + 1 }];
}

/** The day access is first restricted (soft suspension, else suspension); null when never. */
export function graceDaysOf(schedule: readonly DunningStep[]): number | null {
  return schedule.find((s) => s.action === 'soft_suspension' || s.action === 'suspension')?.day ?? null;
}

/** When step `index` is due for a case opened at `openedAt`. */
export function stepDueAt(openedAt: Date, step: DunningStep): Date {
  return new Date(openedAt.getTime() + step.day * DAY_MS);
}

/** The moments access is restricted for a case opened at `openedAt` (null: never). */
export function restrictionTimes(openedAt: Date, schedule: readonly DunningStep[]): { softSuspendAt: Date | null; suspendAt: Date | null } {
  const soft = schedule.find((s) => s.action === 'soft_suspension');
  const hard = schedule.find((s) => s.action === 'suspension');
  return {
    softSuspendAt: soft ? stepDueAt(openedAt, soft) : null,
    suspendAt: hard ? stepDueAt(openedAt, hard) : null,
  };
}

/** The case's day number at `now` (0 on the day of the first failure; never negative). */
export function dayOf(openedAt: Date, now: Date): number {
  return Math.max(0, Math.floor((now.getTime() - openedAt.getTime()) / DAY_MS));
}

export function formatDunningSchedule(schedule: readonly DunningStep[]): string {
  return schedule.map((s) => `${s.action}:${s.day}`).join(',');
}
