import { RawResponse } from '../http/router.js';

/**
 * HTML for the hosted pages (checkout, portal, invoice). Every interpolated value goes through
 * `html\`…\``, which escapes it unless it is already `SafeHtml`; nothing else builds markup.
 * (A dozen lines, so no template engine is added for three small pages.)
 */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

type Interpolated = SafeHtml | string | number | boolean | null | undefined | Interpolated[];

function render(v: Interpolated): string {
  if (v instanceof SafeHtml) return v.value;
  if (Array.isArray(v)) return v.map(render).join('');
  if (v === null || v === undefined || v === false) return '';
  return escapeHtml(v);
}

/** Tagged template: literal parts stay, values are escaped (arrays are joined, null/false omitted). */
export function html(strings: TemplateStringsArray, ...values: Interpolated[]): SafeHtml {
  let out = strings[0]!;
  values.forEach((v, i) => (out += render(v) + strings[i + 1]!));
  return new SafeHtml(out);
}

const STYLE = `
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1a1f36;background:#f6f8fa;margin:0}
main{max-width:720px;margin:32px auto;background:#fff;border:1px solid #e3e8ee;border-radius:8px;padding:24px 32px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:24px 0 8px}
.muted{color:#697386}.badge{display:inline-block;padding:1px 8px;border-radius:10px;background:#e3e8ee;font-size:13px}
.badge.ok{background:#d7f7c2;color:#05690d}.badge.warn{background:#fcedb9;color:#a82c00}.badge.bad{background:#ffe7f2;color:#b3093c}
table{width:100%;border-collapse:collapse;margin:8px 0}th,td{text-align:left;padding:6px 4px;border-bottom:1px solid #e3e8ee;vertical-align:top}
td.num,th.num{text-align:right;white-space:nowrap}tr.total td{font-weight:600;border-bottom:none}
form.inline{display:inline;margin:0}button{font:inherit;padding:8px 14px;border-radius:6px;border:1px solid #635bff;background:#635bff;color:#fff;cursor:pointer;margin:4px 4px 4px 0}
button.secondary{background:#fff;color:#635bff}.error{background:#ffe7f2;color:#b3093c;border-radius:6px;padding:8px 12px;margin:12px 0}
.notice{background:#eef3ff;border-radius:6px;padding:8px 12px;margin:12px 0}footer{margin-top:24px;font-size:13px}
`;

/** A whole page: no external assets, no JavaScript. */
export function page(title: string, body: SafeHtml): SafeHtml {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title}</title><style>${new SafeHtml(STYLE)}</style></head>
<body><main>${body}
<footer class="muted">Offline Stripe emulator · test mode</footer></main></body></html>`;
}

export function htmlResponse(body: SafeHtml, status = 200): RawResponse {
  return new RawResponse(status, 'text/html; charset=utf-8', body.value, { 'Cache-Control': 'no-store' });
}

/** 303 See Other: the browser follows a form POST with a GET (post/redirect/get). */
export function redirect(location: string): RawResponse {
  return new RawResponse(303, 'text/plain; charset=utf-8', `Redirecting to ${location}`, { Location: location });
}

export function notFoundPage(what: string): RawResponse {
  return htmlResponse(page('Not found', html`<h1>Not found</h1><p class="muted">${what}</p>`), 404);
}

/** An amount in minor units, formatted for its currency (`1999, 'usd'` → `$19.99`; zero-decimal currencies stay whole). */
export function formatMoney(amount: number | null | undefined, currency: string | null | undefined): string {
  if (amount === null || amount === undefined) return '—';
  const code = (currency ?? 'usd').toUpperCase();
  try {
    const fmt = new Intl.NumberFormat('en-US', { style: 'currency', currency: code });
    const digits = fmt.resolvedOptions().maximumFractionDigits ?? 2;
    return fmt.format(amount / 10 ** digits);
  } catch {
    return `${(amount / 100).toFixed(2)} ${code}`;
  }
}

/** A unix timestamp as a UTC date (`2026-11-21`). */
export function formatDate(ts: number | null | undefined): string {
  if (ts === null || ts === undefined) return '—';
  return new Date(ts * 1000).toISOString().slice(0, 10);
}

/** A unix timestamp as UTC date and minute (`2026-11-21 14:05 UTC`). */
export function formatDateTime(ts: number | null | undefined): string {
  if (ts === null || ts === undefined) return '—';
  return `${new Date(ts * 1000).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

export function formatPeriod(start: number | null | undefined, end: number | null | undefined): string {
  return `${formatDate(start)} – ${formatDate(end)}`;
}

/** "every month", "every 3 months". */
export function formatInterval(recurring: { interval: string; interval_count: number } | null | undefined): string {
  if (!recurring) return 'one time';
  return recurring.interval_count === 1 ? `every ${recurring.interval}` : `every ${recurring.interval_count} ${recurring.interval}s`;
}

export function statusBadge(status: string | null | undefined): SafeHtml {
  const s = status ?? 'unknown';
  const cls = ['active', 'paid', 'complete', 'trialing'].includes(s)
    ? 'ok'
    : ['past_due', 'open', 'incomplete', 'unpaid', 'draft'].includes(s)
      ? 'warn'
      : ['canceled', 'void', 'uncollectible', 'expired', 'incomplete_expired'].includes(s)
        ? 'bad'
        : '';
  return html`<span class="badge ${cls}">${s}</span>`;
}
