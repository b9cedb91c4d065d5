// The admin console in a real browser (Debian's Chromium, driven by playwright-core), as an
// admin would use it, against the escrowd and paystack-sim that run.py started and seeded:
//   - the page is served with a strict Content-Security-Policy and no framing, its files with
//     their type and an ETag (304 when unchanged), and it runs without a single console error
//     (a CSP violation would be one);
//   - a malformed token and an expired token are refused with a clear message;
//   - the admin token signs in (kept in sessionStorage only); the open dispute is listed with
//     the held amount; its page shows the reason, the proof notes and the proof image;
//   - resolving it as a split asks for confirmation, then shows the decision at once, and the
//     service holds that decision;
//   - the booking page shows the money and the timeline, with each event's seq and hash as the
//     service stores them;
//   - the webhooks page filtered on "failed" lists the failed delivery with its payload and the
//     counts by state; once Paystack answers again, Retry turns it processed;
//   - the provider's balance shows the split's net on its way, and the payout that Paystack
//     holds for an OTP is finalized from the payouts page;
//   - the chargebacks page lists the Paystack chargeback with its due date; declining without
//     evidence is refused with the service's message, accepting answers it at Paystack and the
//     booking ends refunded (no refund sent) with the chargeback on its page;
//   - the money-in-motion page lists the failed refund and Retry asks Paystack again (a new
//     refund, processed); the revenue page shows the fees earned and Paystack's fees.
// Screenshots of each step go to fixture.artifacts. Run by run.py (test/e2e/console_test.sh).
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const fixture = JSON.parse(process.env.CONSOLE_FIXTURE);
const base = fixture.escrowd_url;
const STEP_TIMEOUT_MS = 15000;
mkdirSync(fixture.artifacts, { recursive: true });

async function apiGet(route) {
  const response = await fetch(base + route, { headers: { Authorization: 'Bearer ' + fixture.admin_token } });
  assert.equal(response.status, 200, `GET ${route}`);
  return response.json();
}

// The view shows no absent value as text ("null", "undefined", "NaN"), outside the raw event
// payloads, which are JSON and may hold null.
async function assertNoStrayValues(page, where) {
  const text = await page.locator('#view').evaluate((view) => {
    const copy = view.cloneNode(true);
    copy.querySelectorAll('pre').forEach((pre) => pre.remove());
    return copy.textContent;
  });
  // No word boundaries: two absent parts side by side read "nullnull".
  assert.doesNotMatch(text, /null|undefined|NaN/, `a stray absent value on ${where}`);
}

let shot = 0;
async function screenshot(page, name) {
  shot += 1;
  const file = path.join(fixture.artifacts, `${String(shot).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`screenshot ${file}`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  // Chromium refuses to start its sandbox as root (CI containers).
  args: process.getuid && process.getuid() === 0 ? ['--no-sandbox'] : [],
});
const problems = [];
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
context.setDefaultTimeout(STEP_TIMEOUT_MS);
const page = await context.newPage();
try {
  page.on('pageerror', (error) => problems.push('page error: ' + error.message));
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    // The refused sign-ins below answer 401 on purpose; Chromium logs every 4xx fetch.
    if (/status of 40[13]/.test(message.text())) return;
    problems.push('console error: ' + message.text());
  });

  // ---- the page and its headers ----
  const response = await page.goto(base + '/admin/');
  assert.equal(response.status(), 200);
  const headers = response.headers();
  assert.match(headers['content-type'], /^text\/html/);
  assert.match(headers['content-security-policy'], /default-src 'self'/);
  assert.doesNotMatch(headers['content-security-policy'], /unsafe-inline|unsafe-eval/);
  assert.equal(headers['x-frame-options'], 'DENY');
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  const script = await fetch(base + '/admin/console.js');
  assert.equal(script.status, 200);
  assert.match(script.headers.get('content-type'), /^text\/javascript/);
  assert.equal(script.headers.get('cache-control'), 'no-cache');
  const unchanged = await fetch(base + '/admin/console.js', { headers: { 'If-None-Match': script.headers.get('etag') } });
  assert.equal(unchanged.status, 304, 'an unchanged file is revalidated, not sent again');

  // ---- refused tokens ----
  const alert = page.getByRole('alert');
  await page.getByLabel('Admin token').fill('not-a-token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await alert.filter({ hasText: 'Sign-in failed' }).waitFor();
  assert.match(await alert.textContent(), /not accepted.*malformed/);
  await screenshot(page, 'bad-token');

  await page.getByLabel('Admin token').fill(fixture.expired_token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await alert.filter({ hasText: 'expired' }).waitFor();

  await page.getByLabel('Admin token').fill(fixture.client_token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await alert.filter({ hasText: 'not an admin token' }).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'a refused token is not kept');

  // ---- sign in; the open dispute ----
  await page.getByLabel('Admin token').fill(fixture.admin_token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Open disputes' }).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.getItem('escrow-admin-token')), fixture.admin_token);
  assert.equal(await page.evaluate(() => localStorage.length), 0, 'nothing in localStorage');
  const disputeRow = page.getByRole('row').filter({ hasText: fixture.dispute_booking });
  await disputeRow.waitFor();
  assert.match(await disputeRow.textContent(), /NGN 5,000\.00/);
  assert.match(await disputeRow.textContent(), /work_incomplete/);
  await assertNoStrayValues(page, 'the disputes list');
  await screenshot(page, 'open-disputes');

  await disputeRow.getByRole('link', { name: 'Review and decide' }).click();
  await page.getByRole('heading', { name: 'Dispute on booking ' + fixture.dispute_booking }).waitFor();
  await page.getByText('The kitchen and the balcony were not cleaned.').waitFor();
  await page.getByText('Cleaned all three rooms; photo of the kitchen attached.').waitFor();
  const proofImage = page.getByRole('img', { name: /Proof image/ });
  await proofImage.waitFor();
  await page.waitForFunction(() => {
    const img = document.querySelector('.proof-images img');
    return img && img.complete && img.naturalWidth > 0;
  });
  await assertNoStrayValues(page, 'the dispute page');
  await screenshot(page, 'dispute');

  // ---- resolve as a split, with confirmation ----
  await page.getByLabel('Split between them').check();
  await page.getByLabel('Amount to the provider (NGN)').fill('3,000.00');
  await page.getByLabel(/^Note/).fill('Two of three rooms were done: the provider keeps 60%.');
  await page.getByRole('button', { name: 'Review decision' }).click();
  const confirm = page.getByRole('region', { name: 'Confirm the decision' });
  await confirm.waitFor();
  assert.match(await confirm.textContent(),
    /Split NGN 5,000\.00: NGN 3,000\.00 to provider .*, NGN 2,000\.00 back to client/);
  const before = await apiGet('/bookings/' + fixture.dispute_booking);
  assert.equal(before.dispute.status, 'open', 'nothing changes before the confirmation');
  await screenshot(page, 'confirm-split');
  await page.getByRole('button', { name: 'Yes, resolve the dispute' }).click();
  await page.getByRole('status').filter({ hasText: 'resolved' }).waitFor();
  await page.getByText('Split between them', { exact: true }).waitFor();
  const after = await apiGet('/bookings/' + fixture.dispute_booking);
  assert.equal(after.dispute.status, 'resolved');
  assert.equal(after.dispute.outcome, 'split');
  assert.equal(after.dispute.provider_amount, 300000);
  assert.equal(after.dispute.refund_amount, 200000);
  assert.equal(after.dispute.resolved_by, 'admin-ops');
  await screenshot(page, 'dispute-resolved');

  // ---- the booking: money and timeline ----
  await page.getByRole('link', { name: "See the booking and its timeline" }).click();
  await page.getByRole('heading', { name: 'Booking ' + fixture.dispute_booking }).waitFor();
  const timeline = page.getByRole('table', { name: /^Timeline/ });
  await timeline.waitFor();
  const events = (await apiGet(`/bookings/${fixture.dispute_booking}/events`)).data;
  const resolved = events.find((e) => e.type === 'DisputeResolved');
  assert.ok(resolved, 'the stream has DisputeResolved');
  const row = timeline.locator(`tr[data-type="DisputeResolved"]`);
  const cells = await row.getByRole('cell').allTextContents();
  assert.equal(cells[0], String(resolved.seq));
  assert.equal(cells[2], 'Dispute resolved');
  assert.match(cells[3], /admin-ops \(admin\)/);
  assert.equal(cells[4], resolved.hash.slice(0, 16) + '…');
  assert.equal(await timeline.locator('tbody tr').count(), events.length);
  const money = await page.getByRole('region', { name: 'Money' }).textContent();
  assert.match(money, /Captured\s*NGN 5,000\.00/);
  assert.match(money, /Held in escrow\s*NGN 0\.00/);
  await assertNoStrayValues(page, 'the booking page');
  await screenshot(page, 'booking-timeline');

  // ---- webhooks: the failed delivery, retried ----
  await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Webhooks' }).click();
  await page.getByRole('heading', { name: 'Paystack webhook deliveries' }).waitFor();
  await page.getByLabel('State', { exact: true }).selectOption('failed');
  await page.getByRole('button', { name: 'Show deliveries' }).click();
  const delivery = page.locator(`tr[data-delivery="${fixture.failed_delivery}"]`);
  await delivery.waitFor();
  assert.match(await delivery.textContent(), /charge\.success/);
  assert.match(await delivery.textContent(), /failed/);
  await page.getByText('failed: 1', { exact: true }).waitFor();
  await delivery.getByRole('button', { name: 'Show payload' }).click();
  const payload = page.getByLabel(`Payload of delivery ${fixture.failed_delivery}`);
  await payload.waitFor();
  assert.match(await payload.textContent(), new RegExp(fixture.failed_reference));
  await assertNoStrayValues(page, 'the webhooks page');
  await screenshot(page, 'webhooks-failed');

  const sim = await fetch(fixture.sim_url + '/_sim/config', {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ error_rate: 0 }),
  });
  assert.equal(sim.status, 200, 'the simulator answers again');
  await page.getByRole('button', { name: `Retry delivery ${fixture.failed_delivery}`, exact: true }).click();
  await page.getByRole('status').filter({ hasText: 'now processed' }).waitFor();
  await page.locator(`tr[data-delivery="${fixture.failed_delivery}"] .badge.processed`).waitFor();
  await page.getByText('failed: 0', { exact: true }).waitFor();
  const retried = await apiGet('/admin/webhook-events/' + fixture.failed_delivery);
  assert.equal(retried.status, 'processed');
  const paid = await apiGet('/bookings/' + fixture.paid_booking);
  assert.equal(paid.escrow_balance, 250000, 'the retried charge put the money in escrow');
  await screenshot(page, 'webhook-retried');

  // ---- a booking in escrow, with no refund, payout nor proof: nothing absent is written out ----
  await page.goto(base + '/admin/#/booking/' + encodeURIComponent(fixture.paid_booking));
  await page.getByRole('heading', { name: 'Booking ' + fixture.paid_booking }).waitFor();
  await page.getByRole('table', { name: /^Timeline/ }).waitFor();
  await assertNoStrayValues(page, 'a booking held in escrow');

  // ---- payouts: the provider's part of the split waits for an OTP ----
  let waiting = null;
  for (let i = 0; i < 180 && !waiting; i++) {  // the outbox sends it once Paystack answers again
    const payouts = (await apiGet(`/providers/${fixture.provider_id}/withdrawals`)).data;
    waiting = payouts.find((p) => p.status === 'otp');
    if (!waiting) await new Promise((resolve) => setTimeout(resolve, 500));
  }
  assert.ok(waiting, 'the payout reached Paystack and waits for an OTP');
  await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Payouts and balances' }).click();
  await page.getByLabel('Provider id').fill(fixture.provider_id);
  await page.getByRole('button', { name: 'Show balance and payouts' }).click();
  const balance = page.getByRole('table', { name: 'Balance of ' + fixture.provider_id });
  await balance.waitFor();
  await page.getByRole('heading', { name: 'Payouts and balances' }).waitFor();
  assert.match(await balance.textContent(), /NGN 2,850\.00/, 'the provider net of the split is on its way');
  await assertNoStrayValues(page, 'the payouts page');
  await screenshot(page, 'payout-otp');
  await page.getByLabel('OTP from Paystack').fill(fixture.sim_otp);
  await page.getByRole('button', { name: 'Finalize payout' }).click();
  await page.getByRole('status').filter({ hasText: 'finalized' }).waitFor();
  const finalized = (await apiGet(`/providers/${fixture.provider_id}/withdrawals`)).data.find((p) => p.payout_id === waiting.payout_id);
  assert.notEqual(finalized.status, 'otp', 'Paystack took the OTP');
  await screenshot(page, 'payout-finalized');

  // ---- chargebacks: answered at Paystack ----
  await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Chargebacks' }).click();
  await page.getByRole('heading', { name: 'Paystack chargebacks' }).waitFor();
  const answer = page.getByRole('form', { name: `Answer chargeback ${fixture.dispute_id}` });
  await answer.waitFor();
  await assertNoStrayValues(page, 'the chargebacks page');
  await screenshot(page, 'chargeback-open');
  await answer.getByLabel(/Decline/).check();
  await answer.getByLabel('Message for the bank').fill('The work was delivered.');
  await answer.getByRole('button', { name: 'Send the answer' }).click();
  await page.getByRole('alert').filter({ hasText: 'evidence' }).waitFor();
  await answer.getByLabel(/Accept/).check();
  await answer.getByLabel('Message for the bank').fill('We agree: the customer gets the money back.');
  await answer.getByRole('button', { name: 'Send the answer' }).click();
  await page.getByRole('status').filter({ hasText: `Chargeback ${fixture.dispute_id} answered` }).waitFor();
  const chargedBack = await apiGet('/bookings/' + fixture.chargeback_booking);
  assert.equal(chargedBack.status, 'refunded');
  assert.equal(chargedBack.chargebacks[0].resolution, 'merchant-accepted');
  assert.deepEqual(chargedBack.refunds, [], 'the money went back through the card network, not /refund');
  await screenshot(page, 'chargeback-accepted');
  await page.goto(base + '/admin/#/booking/' + encodeURIComponent(fixture.chargeback_booking));
  await page.getByRole('table', { name: 'Paystack chargebacks' }).waitFor();
  await assertNoStrayValues(page, 'a charged-back booking');

  // ---- money in motion: the failed refund retried ----
  await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Money in motion' }).click();
  await page.getByRole('heading', { name: 'Money in motion' }).waitFor();
  const retryRefund = page.getByRole('button', { name: `Retry refund ${fixture.failed_refund}`, exact: true });
  await retryRefund.waitFor();
  await assertNoStrayValues(page, 'the money-in-motion page');
  await screenshot(page, 'refund-failed');
  await retryRefund.click();
  await page.getByRole('status').filter({ hasText: `Refund ${fixture.failed_refund} is asked again` }).waitFor();
  let refunded = null;
  for (let i = 0; i < 120 && !refunded; i++) {
    const b = await apiGet('/bookings/' + fixture.refund_booking);
    if (b.payment_status === 'refunded') refunded = b;
    else await new Promise((resolve) => setTimeout(resolve, 500));
  }
  assert.ok(refunded, 'the retried refund was processed');
  assert.equal(refunded.refunds.length, 2);
  const listed = (await apiGet('/admin/refunds?limit=100')).data.find((r) => r.booking_id === fixture.refund_booking && r.attempt === 2);
  assert.equal(listed.requested_by, 'admin-ops', 'the retry names the admin who asked for it');
  await screenshot(page, 'refund-retried');

  // ---- revenue ----
  await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Revenue' }).click();
  const revenue = page.getByRole('table', { name: 'Revenue by currency' });
  await revenue.waitFor();
  assert.match(await revenue.textContent(), /NGN/);
  await assertNoStrayValues(page, 'the revenue page');
  await screenshot(page, 'revenue');

  // ---- signing out forgets the token ----
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  assert.equal(await page.evaluate(() => sessionStorage.length), 0);
} catch (error) {
  problems.push(error.stack || String(error));
  await screenshot(page, 'failure').catch(() => {});
} finally {
  await browser.close();
}

if (problems.length) {
  console.error('FAIL: admin console\n' + problems.join('\n'));
  process.exit(1);
}
console.log('PASS: admin console (sign-in, dispute split, timeline, webhook retry, payout OTP, chargeback, refund retry, revenue)');
