import { it, expect } from 'vitest';
import { emulatorWithClient } from './support.js';
it('probe', async () => {
  const { emu, stripe } = await emulatorWithClient();
  const product = await stripe.products.create({ name: 'P' });
  const price = await stripe.prices.create({ product: product.id, currency: 'usd', unit_amount: 1500, recurring: { interval: 'month' } });
  const s = await stripe.checkout.sessions.create({ mode: 'subscription', line_items: [{ price: price.id, quantity: 1 }], success_url: 'http://x/s', cancel_url: 'http://x/c' });
  const res = await fetch(`${emu.url}/v1/test_helpers/checkout/sessions/${s.id}/complete`, { method: 'POST', headers: { authorization: 'Bearer sk_test_x', 'content-type': 'application/x-www-form-urlencoded' }, body: 'payment_method=pm_card_authenticationRequired' });
  console.log(res.status, await res.text());
  console.log((await stripe.customers.list()).data.length, (await stripe.subscriptions.list({status:'all'})).data.length);
  await emu.close();
});
