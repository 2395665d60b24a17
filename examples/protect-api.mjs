#!/usr/bin/env node
// An API protected by the gateway's API keys: every request is verified (and metered) in one call.
//   GATEWAY_TOKEN=<service or admin token> node examples/protect-api.mjs   then   curl -H "x-api-key: bg_test_…" localhost:3000/hello
import express from 'express';

const gateway = process.env.GATEWAY_URL ?? 'http://localhost:4000';
const STATUS = { NOT_FOUND: 401, REVOKED: 401, EXPIRED: 401, NO_SUBSCRIPTION: 403, SUSPENDED: 403, RATE_LIMITED: 429, QUOTA_EXCEEDED: 429 };
const app = express();

app.use(async (req, res, next) => {
  const key = req.get('x-api-key') ?? req.get('authorization')?.replace(/^Bearer /i, '') ?? '';
  const r = await fetch(`${gateway}/v1/keys/verify`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${process.env.GATEWAY_TOKEN}` },
    body: JSON.stringify({ key, cost: 1, requestId: req.get('x-request-id') }),
  }).then((x) => (x.ok ? x.json() : Promise.reject(new Error(`gateway answered ${x.status}`)))).catch(next);
  if (!r) return;
  if (r.rateLimit) res.set({ 'RateLimit-Limit': r.rateLimit.limit, 'RateLimit-Remaining': r.rateLimit.remaining });
  if (r.valid) return next();
  const resetAt = r.code === 'RATE_LIMITED' ? r.rateLimit?.resetAt : r.quota?.resetAt;
  if (resetAt) res.set('Retry-After', String(Math.max(1, Math.ceil((Date.parse(resetAt) - Date.now()) / 1000))));
  res.status(STATUS[r.code] ?? 401).json({ error: r.code });
});

app.get('/hello', (_req, res) => res.json({ hello: 'world' }));
app.listen(Number(process.env.PORT ?? 3000), () => console.log(`protected API on http://localhost:${process.env.PORT ?? 3000}/hello`));
