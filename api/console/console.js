// The escrow admin console: a page for the people who run the service (served by escrowd at
// /admin/, see api/console.h). Plain JavaScript, no framework, no build step.
//
// The admin token is kept in this tab's sessionStorage only and sent as a Bearer token to the
// JSON API of the same origin. Views follow the URL hash (#/disputes, #/dispute/ID, #/bookings,
// #/booking/ID, #/webhooks, #/payouts, #/money (payouts and refunds across providers, with their
// retries), #/chargebacks (Paystack chargebacks and the admin's answer), #/revenue). Pages are built with DOM calls (never innerHTML), so
// nothing the API returns is ever run as markup. Money arrives as integer subunits and is shown
// with integer arithmetic (BigInt), never floating point.
'use strict';

(() => {
  const TOKEN_KEY = 'escrow-admin-token';
  const $ = (id) => document.getElementById(id);
  let generation = 0;   // bumped on every navigation; late answers for an old view are dropped
  let blobUrls = [];    // proof images of the current view, revoked on navigation

  // ---- building the page ----------------------------------------------------------------------

  // h('button', {class: 'plain', onclick: f}, 'Text', child...): an element; null children skipped.
  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else if (key === 'class') node.className = value;
      else node.setAttribute(key, value === true ? '' : String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  // The parts of a view that are there: a view lists optional sections as null.
  function present(nodes) {
    return nodes.flat(Infinity).filter((n) => n !== null && n !== undefined && n !== false);
  }

  function table(caption, headers, rows) {
    return h('table', {},
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col', class: t.num ? 'num' : null }, t.label || t)))),
      h('tbody', {}, rows));
  }

  function facts(pairs) {
    return h('dl', { class: 'facts' }, pairs.filter((p) => p).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v === '' || v === null || v === undefined ? '—' : v)]));
  }

  function badge(status) {
    return h('span', { class: 'badge ' + status }, words(status));
  }

  function words(name) {
    return String(name || '').replace(/[_-]/g, ' ');
  }

  // "DisputeResolved" -> "Dispute resolved"
  function eventName(type) {
    const spaced = type.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
    return spaced.charAt(0).toUpperCase() + spaced.slice(1);
  }

  function when(iso) {
    if (!iso) return '—';
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return iso;
    return h('time', { datetime: iso, title: iso }, date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' }));
  }

  function bookingLink(id) {
    return h('a', { href: '#/booking/' + encodeURIComponent(id) }, id);
  }

  // ---- money: integer subunits only ---------------------------------------------------------

  // 1234500, "NGN" -> "NGN 12,345.00" (every supported currency has 100 subunits).
  function money(minor, currency) {
    if (minor === null || minor === undefined) return '—';
    let v = BigInt(minor);
    const negative = v < 0n;
    if (negative) v = -v;
    const whole = (v / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    const cents = (v % 100n).toString().padStart(2, '0');
    return `${currency} ${negative ? '-' : ''}${whole}.${cents}`;
  }

  // "12,345.5" -> 1234550n; null when it is not an amount.
  function parseMoney(text) {
    const m = /^\s*(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?\s*$/.exec(text);
    if (!m) return null;
    return BigInt(m[1].replace(/,/g, '')) * 100n + BigInt((m[2] || '').padEnd(2, '0'));
  }

  // ---- messages -----------------------------------------------------------------------------

  function notice(text) {
    $('problem').hidden = true;
    $('notice').textContent = text;
    $('notice').hidden = !text;
  }

  function problem(text) {
    $('notice').hidden = true;
    $('problem').textContent = text;
    $('problem').hidden = !text;
  }

  function clearMessages() {
    $('notice').hidden = true;
    $('problem').hidden = true;
  }

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  // A sentence a person can act on.
  function explain(error) {
    if (!(error instanceof ApiError)) return 'Something went wrong in this page: ' + error.message;
    switch (error.status) {
      case 0: return 'Cannot reach the escrow service. Check that it is running and try again.';
      case 401: return `Your token was not accepted (${error.message}) Please sign in again with a current admin token.`;
      case 403: return `Refused: this token may not do that. ${error.message} The console needs an admin token.`;
      case 404: return `Not found: ${error.message}`;
      case 409: return `Refused: ${error.message} Nothing was changed.`;
      case 429: return 'Too many requests in a short time. Wait a minute and try again.';
      case 502: return `Paystack did not answer or refused: ${error.message}`;
      default: return `${error.message} (error ${error.status}, ${error.code})`;
    }
  }

  // Shows an error; a refused token signs the admin out.
  function fail(error) {
    if (error instanceof ApiError && error.status === 401) {
      signOut(explain(error));
      return;
    }
    problem(explain(error));
  }

  // ---- the API ------------------------------------------------------------------------------

  function token() {
    return sessionStorage.getItem(TOKEN_KEY) || '';
  }

  async function api(method, path, body, options = {}) {
    const headers = { Authorization: 'Bearer ' + (options.token || token()) };
    const init = { method, headers, cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    if (options.idempotencyKey) headers['Idempotency-Key'] = options.idempotencyKey;
    let response;
    try {
      response = await fetch(path, init);
    } catch (e) {
      throw new ApiError(0, 'network', e.message);
    }
    if (options.blob && response.ok) return response.blob();
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
    if (!response.ok) {
      const err = (data && data.error) || {};
      throw new ApiError(response.status, err.code || 'http_' + response.status,
        err.message || `The service answered ${response.status}.`);
    }
    return data;
  }

  function query(params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== '' && v !== null && v !== undefined) q.set(k, v);
    const s = q.toString();
    return s ? '?' + s : '';
  }

  function newKey() {
    return crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(16).slice(2);
  }

  // ---- signing in ---------------------------------------------------------------------------

  // The token's claims, for display only (the service checks the signature).
  function claims(jwt) {
    try {
      const part = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      return JSON.parse(atob(part.padEnd(part.length + (4 - part.length % 4) % 4, '=')));
    } catch (e) {
      return null;
    }
  }

  async function signIn(event) {
    event.preventDefault();
    clearMessages();
    const candidate = $('token').value.trim();
    if (!candidate) return problem('Paste your admin token first.');
    const button = event.target.querySelector('button');
    button.disabled = true;
    try {
      await api('GET', '/admin/disputes?status=open&limit=1', undefined, { token: candidate });
      sessionStorage.setItem(TOKEN_KEY, candidate);
      $('token').value = '';
      showApp();
      if (!location.hash || location.hash === '#/') location.hash = '#/disputes';
      else route();
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        problem(`Sign-in failed: the token was not accepted (${error.message}) Check that you pasted the whole admin token, or ask for a new one.`);
      } else if (error instanceof ApiError && error.status === 403) {
        problem('Sign-in failed: this token is valid but it is not an admin token, so it cannot use the console.');
      } else {
        problem('Sign-in failed. ' + explain(error));
      }
    } finally {
      button.disabled = false;
    }
  }

  function signOut(reason) {
    sessionStorage.removeItem(TOKEN_KEY);
    generation++;
    $('view').hidden = true;
    $('view').replaceChildren();
    $('nav').hidden = true;
    $('who').hidden = true;
    $('sign-in').hidden = false;
    if (reason) problem(reason); else clearMessages();
    $('token').focus();
  }

  function showApp() {
    const c = claims(token()) || {};
    const until = c.exp ? new Date(c.exp * 1000).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : 'unknown';
    $('who-text').textContent = `Signed in as ${c.sub || 'unknown'} (${c.role || '?'}), token valid until ${until}`;
    $('who').hidden = false;
    $('nav').hidden = false;
    $('sign-in').hidden = true;
    $('view').hidden = false;
  }

  // ---- navigation ---------------------------------------------------------------------------

  const routes = [
    [/^#\/disputes$/, () => viewDisputes('open')],
    [/^#\/disputes\/resolved$/, () => viewDisputes('resolved')],
    [/^#\/dispute\/(.+)$/, (id) => viewDispute(id)],
    [/^#\/bookings$/, () => viewBookings()],
    [/^#\/booking\/(.+)$/, (id) => viewBooking(id)],
    [/^#\/webhooks$/, () => viewWebhooks()],
    [/^#\/payouts$/, () => viewPayouts('')],
    [/^#\/payouts\/(.+)$/, (id) => viewPayouts(id)],
    [/^#\/money$/, () => viewMoney()],
    [/^#\/chargebacks$/, () => viewChargebacks()],
    [/^#\/revenue$/, () => viewRevenue()],
  ];

  function route() {
    if (!token()) return signOut();
    generation++;
    for (const url of blobUrls) URL.revokeObjectURL(url);
    blobUrls = [];
    const hash = location.hash || '#/disputes';
    // A section's link is current for its list and its items: "#/disputes" for "#/dispute/X".
    for (const link of document.querySelectorAll('nav a')) {
      const section = link.getAttribute('href').slice(2);
      if (hash.slice(2).startsWith(section.slice(0, -1))) link.setAttribute('aria-current', 'page');
      else link.removeAttribute('aria-current');
    }
    for (const [pattern, view] of routes) {
      const m = pattern.exec(hash);
      if (m) return view(...m.slice(1).map(decodeURIComponent));
    }
    location.hash = '#/disputes';
  }

  // Replaces the view with `nodes`; the heading takes the focus, for screen readers.
  function show(...nodes) {
    const view = $('view');
    // replaceChildren() writes an absent part (null) as the text "null": leave it out instead.
    view.replaceChildren(...present(nodes));
    const heading = view.querySelector('h2');
    if (heading) {
      heading.tabIndex = -1;
      heading.focus();
    }
  }

  // Runs `load` for the current view; drops its answer if the admin moved on meanwhile.
  async function load(title, work) {
    const mine = generation;
    show(h('h2', {}, title), h('p', { class: 'muted' }, 'Loading…'));
    try {
      const nodes = await work();
      if (mine === generation) show(nodes);
    } catch (error) {
      if (mine !== generation) return;
      show(h('h2', {}, title));
      fail(error);
    }
  }

  // ---- disputes -----------------------------------------------------------------------------

  function viewDisputes(status) {
    clearMessages();
    load(status === 'open' ? 'Open disputes' : 'Resolved disputes', async () => {
      const page = await api('GET', '/admin/disputes' + query({ status }));
      const rows = page.data.map((d) => h('tr', {},
        h('td', {}, bookingLink(d.booking_id)),
        h('td', {}, when(d.opened_at)),
        h('td', {}, `${d.opened_by} (${d.opened_by_role})`),
        h('td', {}, h('strong', {}, d.reason), d.description ? h('div', { class: 'muted' }, d.description) : null),
        h('td', { class: 'num' }, money(d.held, d.currency)),
        h('td', {}, d.client_id),
        h('td', {}, d.provider_id),
        h('td', {}, status === 'open'
          ? h('a', { href: '#/dispute/' + encodeURIComponent(d.booking_id) }, 'Review and decide')
          : [words(d.outcome), ' — ', d.note || ''])));
      return [
        h('h2', {}, status === 'open' ? 'Open disputes' : 'Resolved disputes'),
        h('p', {}, status === 'open'
          ? h('a', { href: '#/disputes/resolved' }, 'Show resolved disputes')
          : h('a', { href: '#/disputes' }, 'Show open disputes')),
        rows.length === 0
          ? h('p', { class: 'panel' }, status === 'open' ? 'No open disputes: nothing needs a decision.' : 'No resolved disputes yet.')
          : table(`${rows.length} ${status} dispute${rows.length === 1 ? '' : 's'}, newest first`,
            ['Booking', 'Opened', 'Opened by', 'Reason', { label: 'Held', num: true }, 'Client', 'Provider', status === 'open' ? 'Action' : 'Decision'], rows),
      ];
    });
  }

  function viewDispute(id) {
    clearMessages();
    load('Dispute on booking ' + id, async () => {
      const booking = await api('GET', '/bookings/' + encodeURIComponent(id));
      return disputePage(booking);
    });
  }

  function disputePage(b) {
    const d = b.dispute;
    const parts = [h('h2', {}, 'Dispute on booking ' + b.id)];
    if (!d) {
      parts.push(h('p', { class: 'panel' }, 'This booking has no dispute. ', bookingLink(b.id)));
      return parts;
    }
    parts.push(h('section', { class: 'panel', 'aria-labelledby': 'dispute-h' },
      h('h3', { id: 'dispute-h' }, 'The dispute'),
      facts([
        ['State', badge(d.status)],
        ['Opened by', `${d.opened_by} (${d.role})${d.source === 'chargeback' ? ', through a Paystack chargeback' : ''}`],
        ['Reason', d.reason],
        ['What they said', d.description],
        ['Booking', [bookingLink(b.id), ' — ', b.description]],
        ['Client', `${b.client_id} (${b.client_email})`],
        ['Provider', b.provider_id],
      ])));
    parts.push(moneyPanel(b));
    parts.push(proofPanel(b));
    if (d.status === 'open') parts.push(resolveForm(b));
    else parts.push(resolutionPanel(b));
    return parts;
  }

  function resolutionPanel(b) {
    const d = b.dispute;
    return h('section', { class: 'panel', 'aria-labelledby': 'decision-h' },
      h('h3', { id: 'decision-h' }, 'Decision'),
      facts([
        ['Outcome', h('strong', {}, outcomeWords(d.outcome))],
        ['To the provider', money(d.provider_amount, b.currency)],
        ['Back to the client', money(d.refund_amount, b.currency)],
        ['Note', d.note],
        ['Decided by', d.resolved_by],
      ]),
      h('p', {}, h('a', { href: '#/booking/' + encodeURIComponent(b.id) }, 'See the booking and its timeline')));
  }

  function outcomeWords(outcome) {
    return { release: 'Released to the provider', refund: 'Refunded to the client', split: 'Split between them' }[outcome] || words(outcome);
  }

  function resolveForm(b) {
    const held = BigInt(b.escrow_balance);
    const cur = b.currency;
    const providerInput = h('input', { id: 'provider-amount', name: 'provider_amount', inputmode: 'decimal', autocomplete: 'off', 'aria-describedby': 'split-help' });
    const splitHelp = h('p', { id: 'split-help', class: 'muted' }, `Held: ${money(held, cur)}. The client gets back the rest.`);
    const splitBox = h('div', { hidden: true },
      h('label', { for: 'provider-amount' }, `Amount to the provider (${cur})`), providerInput, splitHelp);
    const note = h('textarea', { id: 'note', name: 'note', class: 'note', rows: 3, required: true });
    const confirmBox = h('div', { class: 'confirm', hidden: true, role: 'region', 'aria-label': 'Confirm the decision' });
    const choice = (value, label) => h('label', {},
      h('input', { type: 'radio', name: 'outcome', value, onchange: () => { splitBox.hidden = value !== 'split'; confirmBox.hidden = true; } }), ' ', label);
    providerInput.addEventListener('input', () => {
      const p = parseMoney(providerInput.value);
      splitHelp.textContent = p === null || p > held
        ? `Held: ${money(held, cur)}. Type the provider's part, e.g. 2,500.00.`
        : `The provider gets ${money(p, cur)} (before the platform fee); the client gets back ${money(held - p, cur)}.`;
    });

    const form = h('form', { 'aria-labelledby': 'resolve-h' },
      h('fieldset', {}, h('legend', {}, 'Decision'),
        choice('release', `Release everything to the provider (${money(held, cur)})`), h('br'),
        choice('refund', `Refund everything to the client (${money(held, cur)})`), h('br'),
        choice('split', 'Split between them')),
      splitBox,
      h('label', { for: 'note' }, 'Note (why you decided this; kept with the decision)'), note,
      h('button', { type: 'submit' }, 'Review decision'),
      confirmBox);

    form.addEventListener('submit', (event) => {
      event.preventDefault();
      clearMessages();
      const picked = form.querySelector('input[name=outcome]:checked');
      if (!picked) return problem('Choose a decision: release, refund or split.');
      const body = { outcome: picked.value, note: note.value.trim() };
      if (!body.note) return problem('Write a note saying why you decided this.');
      let summary;
      if (body.outcome === 'split') {
        const p = parseMoney(providerInput.value);
        if (p === null || p <= 0n || p >= held) {
          return problem(`Type the provider's part as an amount above ${cur} 0.00 and below ${money(held, cur)}, e.g. 2,500.00.`);
        }
        body.provider_amount = Number(p);
        body.refund_amount = Number(held - p);
        summary = `Split ${money(held, cur)}: ${money(p, cur)} to provider ${b.provider_id}, ${money(held - p, cur)} back to client ${b.client_id}.`;
      } else if (body.outcome === 'release') {
        summary = `Release ${money(held, cur)} to provider ${b.provider_id}.`;
      } else {
        summary = `Refund ${money(held, cur)} to client ${b.client_id}.`;
      }
      const key = newKey();  // one decision, even if the button is pressed twice
      const yes = h('button', { type: 'button', class: 'danger' }, 'Yes, resolve the dispute');
      const back = h('button', { type: 'button', class: 'plain', onclick: () => { confirmBox.hidden = true; } }, 'Go back');
      yes.addEventListener('click', async () => {
        yes.disabled = true;
        back.disabled = true;
        try {
          const after = await api('POST', `/bookings/${encodeURIComponent(b.id)}/dispute/resolve`, body, { idempotencyKey: key });
          show(disputePage(after));
          notice(`Dispute on booking ${b.id} resolved. ${summary}`);
        } catch (error) {
          yes.disabled = false;
          back.disabled = false;
          fail(error);
        }
      });
      confirmBox.replaceChildren(
        h('p', {}, h('strong', {}, 'Please confirm. '), summary),
        h('p', {}, 'Note: ', body.note),
        h('p', {}, 'This moves money and cannot be undone.'),
        yes, back);
      confirmBox.hidden = false;
      yes.focus();
    });

    return h('section', { class: 'panel' }, h('h3', { id: 'resolve-h' }, 'Resolve the dispute'), form);
  }

  // ---- one booking ----------------------------------------------------------------------------

  function moneyPanel(b) {
    const cur = b.currency;
    let paystackFees = 0n;
    for (const p of b.payments || []) paystackFees += BigInt(p.paystack_fee || 0);
    const item = (label, minor) => h('div', {}, h('span', {}, label), h('strong', {}, money(minor, cur)));
    return h('section', { class: 'panel', 'aria-labelledby': 'money-h' },
      h('h3', { id: 'money-h' }, 'Money'),
      h('div', { class: 'money' },
        item('Price', b.amount),
        item('Captured', b.amount_paid),
        item('Held in escrow', b.escrow_balance),
        item('Released to provider', b.released),
        item('Refunded to client', b.refunded),
        item('Taken back by chargebacks', b.charged_back || 0),
        item('Platform fee', b.platform_fee),
        item('Provider net', b.provider_net),
        item('Paystack fees', paystackFees)));
  }

  function proofPanel(b) {
    const proof = b.proof;
    if (!proof) return h('section', { class: 'panel' }, h('h3', {}, 'Proof of work'), h('p', {}, 'The provider has not submitted proof.'));
    const figures = h('div', { class: 'proof-images' });
    for (const file of proof.files) {
      const caption = h('figcaption', {}, `${file.name || 'file'} (${file.content_type}, ${file.size_bytes} bytes)`);
      if (file.content_type.startsWith('image/')) {
        const img = h('img', { alt: `Proof image ${file.name || file.sha256.slice(0, 12)}` });
        figures.append(h('figure', {}, img, caption));
        api('GET', file.url, undefined, { blob: true }).then((blob) => {
          const url = URL.createObjectURL(blob);
          blobUrls.push(url);
          img.src = url;
        }).catch((error) => { caption.append(' — could not load: ' + explain(error)); });
      } else {
        const download = h('button', { type: 'button', class: 'plain' }, 'Download ' + (file.name || 'file'));
        download.addEventListener('click', async () => {
          try {
            const url = URL.createObjectURL(await api('GET', file.url, undefined, { blob: true }));
            blobUrls.push(url);
            const a = h('a', { href: url, download: file.name || file.sha256 });
            a.click();
          } catch (error) { fail(error); }
        });
        figures.append(h('figure', {}, download, caption));
      }
    }
    return h('section', { class: 'panel', 'aria-labelledby': 'proof-h' },
      h('h3', { id: 'proof-h' }, 'Proof of work'),
      facts([['Notes', proof.notes]]),
      proof.files.length ? figures : h('p', { class: 'muted' }, 'No files were uploaded.'),
      proof.attachments.length
        ? h('ul', {}, proof.attachments.map((a) => h('li', {}, 'Link given: ', h('a', { href: a.url, rel: 'noopener noreferrer', target: '_blank' }, a.url))))
        : null);
  }

  function viewBooking(id) {
    clearMessages();
    load('Booking ' + id, async () => {
      const path = '/bookings/' + encodeURIComponent(id);
      const [b, events] = await Promise.all([api('GET', path), api('GET', path + '/events')]);
      return bookingPage(b, events.data);
    });
  }

  function bookingPage(b, events) {
    const cur = b.currency;
    const d = b.dispute;
    return [
      h('h2', {}, 'Booking ' + b.id),
      h('section', { class: 'panel' },
        facts([
          ['What', b.description],
          ['Status', [badge(b.status), ' ', 'payment: ', badge(b.payment_status)]],
          ['Client', `${b.client_id} (${b.client_email})`],
          ['Provider', h('a', { href: '#/payouts/' + encodeURIComponent(b.provider_id) }, b.provider_id)],
          ['Created', when(b.created_at)],
          ['Payment plan', b.payment_plan.type === 'split' ? `deposit ${b.payment_plan.deposit_bps / 100}% then balance` : 'full amount at once'],
          ['Auto-confirm', b.auto_confirm_at ? when(b.auto_confirm_at) : 'not scheduled'],
          d ? ['Dispute', [badge(d.status), ' ', d.reason, ' — ',
            h('a', { href: '#/dispute/' + encodeURIComponent(b.id) }, d.status === 'open' ? 'review and decide' : 'see the decision')]] : null,
        ])),
      moneyPanel(b),
      b.payments.length ? table('Payments', ['Reference', 'Installment', { label: 'Amount', num: true }, 'Status', { label: 'Paystack fee', num: true }, { label: 'Refunded', num: true }],
        b.payments.map((p) => h('tr', {}, h('td', { class: 'mono' }, p.reference), h('td', {}, p.installment), h('td', { class: 'num' }, money(p.amount, p.currency)),
          h('td', {}, badge(p.status)), h('td', { class: 'num' }, money(p.paystack_fee, cur)), h('td', { class: 'num' }, money(p.refunded, cur))))) : null,
      b.refunds.length ? table('Refunds', ['Refund', 'Payment', { label: 'Amount', num: true }, 'Status', 'Reason'],
        b.refunds.map((r) => h('tr', {}, h('td', { class: 'mono' }, r.refund_id), h('td', { class: 'mono' }, r.payment_reference),
          h('td', { class: 'num' }, money(r.amount, r.currency)), h('td', {}, badge(r.status), r.failure_reason ? h('div', { class: 'muted' }, r.failure_reason) : null), h('td', {}, r.reason)))) : null,
      (b.chargebacks || []).length ? table('Paystack chargebacks', [{ label: 'Dispute', num: true }, 'Payment', { label: 'Claimed', num: true }, 'Status', 'Resolution', 'Answer due', { label: 'From escrow', num: true }, { label: 'From provider', num: true }, { label: 'Platform loss', num: true }],
        b.chargebacks.map((c) => h('tr', {}, h('td', { class: 'mono' }, h('a', { href: '#/chargebacks' }, c.id)), h('td', { class: 'mono' }, c.payment_reference),
          h('td', { class: 'num' }, money(c.refund_amount, c.currency)), h('td', {}, badge(c.status)), h('td', {}, c.resolution ? words(c.resolution) : '—'),
          h('td', {}, when(c.due_at)), h('td', { class: 'num' }, money(c.from_escrow, cur)), h('td', { class: 'num' }, money(c.from_provider, cur)),
          h('td', { class: 'num' }, money(c.platform_loss, cur))))) : null,
      b.payouts && b.payouts.length ? payoutsTable('Payouts to the provider', b.payouts, () => viewBooking(b.id)) : null,
      proofPanel(b),
      timeline(events),
    ];
  }

  function timeline(events) {
    return table(`Timeline: ${events.length} event${events.length === 1 ? '' : 's'}, oldest first`,
      [{ label: 'Seq', num: true }, 'Time', 'Event', 'Actor', 'Hash', 'Details'],
      events.map((e) => h('tr', { 'data-type': e.type },
        h('td', { class: 'num' }, e.seq),
        h('td', {}, when(e.recorded_at)),
        h('td', {}, eventName(e.type)),
        h('td', {}, e.actor.id ? `${e.actor.id} (${e.actor.role})` : e.actor.role || '—'),
        h('td', {}, h('code', { title: e.hash }, e.hash.slice(0, 16) + '…')),
        h('td', {}, h('details', {}, h('summary', {}, 'Show'),
          h('p', { class: 'mono' }, 'hash ', e.hash), h('p', { class: 'mono' }, 'previous ', e.prev_hash),
          h('pre', { class: 'payload' }, JSON.stringify(e.data, null, 2)))))));
  }

  // ---- booking search -------------------------------------------------------------------------

  const bookingStatuses = ['awaiting_payment', 'pending_execution', 'awaiting_confirmation', 'completed', 'disputed', 'cancelled', 'refunded', 'expired'];
  const paymentStatuses = ['unpaid', 'pending', 'partially_paid', 'escrow', 'released', 'refunding', 'refunded', 'split', 'failed'];

  function select(id, label, values, anyLabel) {
    return [h('label', { for: id }, label),
      h('select', { id, name: id }, h('option', { value: '' }, anyLabel), values.map((v) => h('option', { value: v }, words(v))))];
  }

  function field(id, label, attrs) {
    return h('div', {}, h('label', { for: id }, label), h('input', Object.assign({ id, name: id, autocomplete: 'off' }, attrs || {})));
  }

  function viewBookings() {
    clearMessages();
    const results = h('div', {});
    const byId = h('form', { class: 'filters', 'aria-label': 'Open a booking by id' },
      field('booking-id', 'Booking id', { required: true }), h('button', { type: 'submit' }, 'Open booking'));
    byId.addEventListener('submit', (event) => {
      event.preventDefault();
      location.hash = '#/booking/' + encodeURIComponent(byId.elements['booking-id'].value.trim());
    });
    const filters = h('form', { class: 'filters', 'aria-label': 'Find bookings' },
      field('client-id', 'Client id'), field('provider-id', 'Provider id'),
      h('div', {}, select('status', 'Status', bookingStatuses, 'any status')),
      h('div', {}, select('payment-status', 'Payment', paymentStatuses, 'any payment state')),
      h('button', { type: 'submit' }, 'Find bookings'));
    const run = async (cursor, append) => {
      const f = filters.elements;
      const mine = generation;
      try {
        const page = await api('GET', '/bookings' + query({ client_id: f['client-id'].value.trim(), provider_id: f['provider-id'].value.trim(), status: f.status.value, payment_status: f['payment-status'].value, limit: 50, cursor }));
        if (mine !== generation) return;
        const rows = page.data.map((b) => h('tr', {}, h('td', {}, bookingLink(b.id)), h('td', {}, when(b.created_at)), h('td', {}, b.description),
          h('td', {}, b.client_id), h('td', {}, b.provider_id), h('td', { class: 'num' }, money(b.amount, b.currency)),
          h('td', { class: 'num' }, money(b.escrow_balance, b.currency)), h('td', {}, badge(b.status)), h('td', {}, badge(b.payment_status))));
        if (append) results.querySelector('tbody').append(...rows);
        else results.replaceChildren(rows.length ? table('Bookings, newest first', ['Booking', 'Created', 'What', 'Client', 'Provider', { label: 'Price', num: true }, { label: 'Held', num: true }, 'Status', 'Payment'], rows) : h('p', {}, 'No booking matches.'));
        const more = results.querySelector('.more');
        if (more) more.remove();
        if (page.next_cursor) results.append(h('button', { type: 'button', class: 'plain more', onclick: () => run(page.next_cursor, true) }, 'Show more'));
      } catch (error) { fail(error); }
    };
    filters.addEventListener('submit', (event) => { event.preventDefault(); clearMessages(); run(null, false); });
    show(h('h2', {}, 'Bookings'), h('section', { class: 'panel' }, byId), h('section', { class: 'panel' }, filters), results);
    run(null, false);
  }

  // ---- webhooks -------------------------------------------------------------------------------

  const webhookEvents = ['charge.success', 'charge.dispute.create', 'charge.dispute.remind', 'charge.dispute.resolve',
    'transfer.success', 'transfer.failed', 'transfer.reversed', 'refund.pending', 'refund.processing',
    'refund.processed', 'refund.failed', 'refund.needs-attention'];
  const webhookStates = ['processed', 'failed', 'ignored', 'received'];

  function viewWebhooks() {
    clearMessages();
    const counts = h('div', { class: 'counts', 'aria-label': 'Deliveries by state' });
    const results = h('div', {});
    const filters = h('form', { class: 'filters', 'aria-label': 'Filter webhook deliveries' },
      h('div', {}, h('label', { for: 'wh-event' }, 'Event'),
        h('input', { id: 'wh-event', name: 'event', list: 'wh-events', autocomplete: 'off', placeholder: 'any event' }),
        h('datalist', { id: 'wh-events' }, webhookEvents.map((e) => h('option', { value: e })))),
      h('div', {}, select('wh-state', 'State', webhookStates, 'any state')),
      field('wh-reference', 'Reference'),
      field('wh-from', 'Received from', { type: 'date' }),
      field('wh-to', 'Received until', { type: 'date' }),
      h('button', { type: 'submit' }, 'Show deliveries'));
    const limit = 25;
    let page = 1;

    const params = (extra) => {
      const f = filters.elements;
      return query(Object.assign({
        event: f.event.value.trim(), processed: f['wh-state'].value, reference: f['wh-reference'].value.trim(),
        from: f['wh-from'].value ? f['wh-from'].value + 'T00:00:00Z' : '',
        to: f['wh-to'].value ? f['wh-to'].value + 'T23:59:59Z' : '',
      }, extra));
    };
    const showCounts = (data) => {
      counts.replaceChildren(...webhookStates.map((s) => h('span', { class: 'badge ' + s }, `${words(s)}: ${data.counts[s] || 0}`)));
    };
    const row = (d) => {
      const payload = h('tr', { hidden: true }, h('td', { colspan: 8 }, h('pre', { class: 'payload', 'aria-label': `Payload of delivery ${d.id}` }, JSON.stringify(d.payload, null, 2))));
      const toggle = h('button', { type: 'button', class: 'plain', 'aria-expanded': 'false' }, 'Show payload');
      toggle.addEventListener('click', () => {
        payload.hidden = !payload.hidden;
        toggle.setAttribute('aria-expanded', String(!payload.hidden));
        toggle.textContent = payload.hidden ? 'Show payload' : 'Hide payload';
      });
      const actions = [toggle];
      const line = h('tr', { 'data-delivery': d.id });
      if (d.status !== 'processed') {
        const retry = h('button', { type: 'button', 'aria-label': `Retry delivery ${d.id}` }, 'Retry');
        retry.addEventListener('click', async () => {
          retry.disabled = true;
          clearMessages();
          try {
            const after = await api('POST', `/admin/webhook-events/${d.id}/retry`, {}, { idempotencyKey: newKey() });
            const [newLine, newPayload] = row(after);
            line.replaceWith(newLine);
            payload.replaceWith(newPayload);
            if (after.status === 'failed') problem(`Delivery ${d.id} was retried but failed again: ${after.last_error || 'no detail'}`);
            else notice(`Delivery ${d.id} (${after.event}) was retried: it is now ${words(after.status)}.`);
            showCounts(await api('GET', '/admin/webhook-events' + params({ limit: 1 })));
          } catch (error) {
            retry.disabled = false;
            fail(error);
          }
        });
        actions.push(' ', retry);
      }
      line.append(
        h('td', { class: 'num' }, d.id), h('td', {}, when(d.received_at)), h('td', { class: 'mono' }, d.event),
        h('td', { class: 'mono' }, d.reference || '—'), h('td', {}, badge(d.status)), h('td', { class: 'num' }, d.attempts),
        h('td', {}, d.last_error || ''), h('td', {}, actions));
      return [line, payload];
    };
    const run = async () => {
      const mine = generation;
      try {
        const data = await api('GET', '/admin/webhook-events' + params({ page, limit }));
        if (mine !== generation) return;
        showCounts(data);
        const pages = Math.max(1, Math.ceil(data.total / limit));
        results.replaceChildren(
          data.data.length
            ? table(`${data.total} deliver${data.total === 1 ? 'y' : 'ies'}, newest first`, [{ label: 'Id', num: true }, 'Received', 'Event', 'Reference', 'State', { label: 'Attempts', num: true }, 'Last error', 'Actions'], data.data.map(row))
            : h('p', {}, 'No delivery matches.'),
          h('div', { class: 'pager' },
            h('button', { type: 'button', class: 'plain', disabled: page <= 1, onclick: () => { page--; run(); } }, 'Previous page'),
            h('span', {}, `Page ${page} of ${pages}`),
            h('button', { type: 'button', class: 'plain', disabled: page >= pages, onclick: () => { page++; run(); } }, 'Next page')));
      } catch (error) { fail(error); }
    };
    filters.addEventListener('submit', (event) => { event.preventDefault(); clearMessages(); page = 1; run(); });
    show(h('h2', {}, 'Paystack webhook deliveries'), h('section', { class: 'panel' }, filters), counts, results);
    run();
  }

  // ---- payouts and balances -------------------------------------------------------------------

  function payoutsTable(caption, payouts, reload) {
    return table(caption, ['Payout', 'Created', 'Source', { label: 'Amount', num: true }, 'Status', 'Attempt', 'Note', 'Action'],
      payouts.map((p) => h('tr', {},
        h('td', { class: 'mono' }, p.payout_id), h('td', {}, when(p.created_at)), h('td', {}, p.booking_id ? [words(p.source), ' ', bookingLink(p.booking_id)] : words(p.source)),
        h('td', { class: 'num' }, money(p.amount, p.currency)), h('td', {}, badge(p.status)), h('td', {}, p.attempt), h('td', {}, p.reason || ''),
        h('td', {}, p.status === 'otp' ? otpForm(p, reload) : ''))));
  }

  function otpForm(p, reload) {
    const id = 'otp-' + p.payout_id;
    const input = h('input', { id, name: 'otp', inputmode: 'numeric', autocomplete: 'one-time-code', size: 8, required: true });
    const form = h('form', {}, h('label', { for: id }, 'OTP from Paystack'), input, h('button', { type: 'submit' }, 'Finalize payout'));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      clearMessages();
      const button = form.querySelector('button');
      button.disabled = true;
      try {
        const after = await api('POST', `/admin/payouts/${encodeURIComponent(p.payout_id)}/finalize`, { otp: input.value.trim() }, { idempotencyKey: newKey() });
        reload();
        notice(`Payout ${p.payout_id} finalized: it is now ${words(after.status)}.`);
      } catch (error) {
        button.disabled = false;
        fail(error);
      }
    });
    return form;
  }

  function viewPayouts(providerId) {
    clearMessages();
    const form = h('form', { class: 'filters', 'aria-label': 'Find a provider' },
      field('provider', 'Provider id', { required: true, value: providerId }), h('button', { type: 'submit' }, 'Show balance and payouts'));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      location.hash = '#/payouts/' + encodeURIComponent(form.elements.provider.value.trim());
    });
    const head = [h('h2', {}, 'Payouts and balances'), h('section', { class: 'panel' }, form)];
    if (!providerId) {
      show(head, h('p', {}, 'Type a provider id to see their balance and payouts, and to finalize a payout Paystack holds for an OTP.'));
      return;
    }
    load('Payouts and balances', async () => {
      const path = '/providers/' + encodeURIComponent(providerId);
      const [balance, payouts] = await Promise.all([api('GET', path + '/balance'), api('GET', path + '/withdrawals?limit=100')]);
      return [head,
        balance.balances.length
          ? table(`Balance of ${providerId}`, ['Currency', { label: 'Available', num: true }, { label: 'Held in escrow', num: true }, { label: 'Being paid out', num: true }, { label: 'Earned in total', num: true }],
            balance.balances.map((x) => h('tr', {}, h('td', {}, x.currency), h('td', { class: 'num' }, money(x.available, x.currency)),
              h('td', { class: 'num' }, money(x.pending_escrow, x.currency)), h('td', { class: 'num' }, money(x.in_flight, x.currency)), h('td', { class: 'num' }, money(x.total_earned, x.currency)))))
          : h('p', {}, `${providerId} has no balance yet.`),
        payouts.data.length ? payoutsTable(`Payouts of ${providerId}, newest first`, payouts.data, () => viewPayouts(providerId)) : h('p', {}, 'No payouts yet.')];
    });
  }

  // ---- money in motion: payouts and refunds across providers ----------------------------------

  // A button that POSTs `path` once (with an Idempotency-Key), then reports and reloads.
  function actionButton(label, ariaLabel, path, done, reload) {
    const button = h('button', { type: 'button', class: 'plain', 'aria-label': ariaLabel }, label);
    button.addEventListener('click', async () => {
      clearMessages();
      button.disabled = true;
      try {
        const after = await api('POST', path, {}, { idempotencyKey: newKey() });
        await reload();
        notice(done(after));
      } catch (error) {
        button.disabled = false;
        fail(error);
      }
    });
    return button;
  }

  function viewMoney() {
    clearMessages();
    const payoutStatuses = ['queued', 'pending', 'otp', 'success', 'failed', 'reversed'];
    const refundStatuses = ['queued', 'pending', 'processing', 'processed', 'failed', 'needs_attention'];
    const filters = h('form', { class: 'filters', 'aria-label': 'Filter payouts and refunds' },
      select('payout-status', 'Payouts', payoutStatuses, 'any status'),
      select('refund-status', 'Refunds', refundStatuses, 'any status'),
      h('button', { type: 'submit' }, 'Show'));
    filters.elements['payout-status'].value = 'failed';
    filters.elements['refund-status'].value = 'failed';
    const results = h('div', {});
    const run = async () => {
      try {
        const [payouts, refunds, flagged] = await Promise.all([
          api('GET', '/admin/payouts' + query({ status: filters.elements['payout-status'].value, limit: 100 })),
          api('GET', '/admin/refunds' + query({ status: filters.elements['refund-status'].value, limit: 100 })),
          api('GET', '/admin/payments?status=flagged&limit=100')]);
        // A payout or refund already retried names the new one's retry_of; it is not retried twice.
        const retriedPayouts = new Set(payouts.data.map((p) => p.retry_of).filter((x) => x));
        const payoutRows = payouts.data.map((p) => h('tr', {},
          h('td', { class: 'mono' }, p.payout_id),
          h('td', {}, h('a', { href: '#/payouts/' + encodeURIComponent(p.provider_id) }, p.provider_id)),
          h('td', {}, p.booking_id ? [words(p.source), ' ', bookingLink(p.booking_id)] : words(p.source)),
          h('td', { class: 'num' }, money(p.amount, p.currency)), h('td', {}, badge(p.status)),
          h('td', {}, p.attempt, p.requested_by ? h('div', { class: 'muted' }, 'retried by ' + p.requested_by) : null),
          h('td', {}, p.reason || ''), h('td', {}, when(p.updated_at)),
          h('td', {}, p.status === 'otp' ? otpForm(p, run)
            : (p.status === 'failed' || p.status === 'reversed') && !retriedPayouts.has(p.payout_id)
              ? actionButton('Retry payout', `Retry payout ${p.payout_id}`, `/admin/payouts/${encodeURIComponent(p.payout_id)}/retry`,
                (after) => `Payout ${p.payout_id} is paid again as ${after.payout_id} (attempt ${after.attempt}); the outbox sends it to Paystack.`, run)
              : '')));
        const refundRows = refunds.data.map((r) => h('tr', {},
          h('td', { class: 'mono' }, r.refund_id), h('td', {}, bookingLink(r.booking_id)), h('td', {}, r.client_id),
          h('td', { class: 'num' }, money(r.amount, r.currency)), h('td', {}, badge(r.status)), h('td', {}, words(r.reason)),
          h('td', {}, r.attempt, r.requested_by ? h('div', { class: 'muted' }, 'retried by ' + r.requested_by) : null),
          h('td', {}, r.failure_reason || ''), h('td', {}, when(r.updated_at)),
          h('td', {}, r.status === 'failed'
            ? actionButton('Retry refund', `Retry refund ${r.refund_id}`, `/admin/refunds/${encodeURIComponent(r.refund_id)}/retry`,
              (after) => `Refund ${r.refund_id} is asked again as ${after.refund_id} (attempt ${after.attempt}).`, run)
            : '')));
        results.replaceChildren(
          payoutRows.length
            ? table(`${payoutRows.length} payout${payoutRows.length === 1 ? '' : 's'}, newest first`,
              ['Payout', 'Provider', 'Source', { label: 'Amount', num: true }, 'Status', 'Attempt', 'Note', 'Updated', 'Action'], payoutRows)
            : h('p', { class: 'panel' }, 'No payout matches.'),
          refundRows.length
            ? table(`${refundRows.length} refund${refundRows.length === 1 ? '' : 's'}, newest first`,
              ['Refund', 'Booking', 'Client', { label: 'Amount', num: true }, 'Status', 'Reason', 'Attempt', 'Failure', 'Updated', 'Action'], refundRows)
            : h('p', { class: 'panel' }, 'No refund matches.'),
          flagged.data.length
            ? table(`${flagged.data.length} flagged payment${flagged.data.length === 1 ? '' : 's'} (another amount or currency than asked: never held), newest first`,
              ['Payment', 'Booking', 'Installment', { label: 'Paystack took', num: true }, 'Received'],
              flagged.data.map((p) => h('tr', {}, h('td', { class: 'mono' }, p.reference), h('td', {}, bookingLink(p.booking_id)),
                h('td', {}, p.installment), h('td', { class: 'num' }, money(p.amount, p.currency)), h('td', {}, when(p.created_at)))))
            : h('p', { class: 'panel' }, 'No flagged payment.'));
      } catch (error) { fail(error); }
    };
    filters.addEventListener('submit', (event) => { event.preventDefault(); clearMessages(); run(); });
    show(h('h2', {}, 'Money in motion'),
      h('p', { class: 'muted' }, 'Payouts, refunds and flagged payments across providers and bookings. A failed payout or refund is retried as a new attempt under a new reference, and only once.'),
      h('section', { class: 'panel' }, filters), results);
    run();
  }

  // ---- chargebacks ----------------------------------------------------------------------------

  function chargebackForm(c, reload) {
    const id = 'cb-' + c.id;
    const message = h('textarea', { id: id + '-message', name: 'message', rows: 2, required: true });
    const file = h('input', { id: id + '-file', name: 'uploaded_filename', size: 24 });
    const form = h('form', { 'aria-label': `Answer chargeback ${c.id}` },
      h('fieldset', {}, h('legend', {}, 'Answer at Paystack'),
        h('label', {}, h('input', { type: 'radio', name: 'resolution', value: 'accept', required: true }), ' Accept: the customer gets ', money(c.refund_amount, c.currency), ' back'),
        h('label', {}, h('input', { type: 'radio', name: 'resolution', value: 'decline' }), ' Decline, with evidence')),
      h('label', { for: id + '-message' }, 'Message for the bank'), message,
      h('label', { for: id + '-file' }, 'Evidence file name (uploaded through Paystack; needed to decline)'), file,
      h('button', { type: 'submit' }, 'Send the answer'));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      clearMessages();
      const resolution = form.elements.resolution.value;
      if (resolution === 'decline' && !file.value.trim()) {
        // The service refuses it too; saying so here spares a round trip.
        problem('Declining needs evidence: upload it through Paystack\'s dispute upload URL and give its file name.');
        return;
      }
      const body = { resolution, message: message.value.trim() };
      if (file.value.trim()) body.uploaded_filename = file.value.trim();
      const button = form.querySelector('button[type=submit]');
      button.disabled = true;
      try {
        const booking = await api('POST', `/admin/chargebacks/${c.id}/respond`, body, { idempotencyKey: newKey() });
        await reload();
        const after = (booking.chargebacks || []).find((x) => x.id === c.id) || {};
        notice(`Chargeback ${c.id} answered (${resolution}): Paystack has it as ${words(after.status)}${after.resolution ? ', ' + words(after.resolution) : ''}.`);
      } catch (error) {
        button.disabled = false;
        fail(error);
      }
    });
    return form;
  }

  function viewChargebacks() {
    clearMessages();
    const statuses = ['awaiting-merchant-feedback', 'awaiting-bank-feedback', 'pending', 'resolved'];
    const filters = h('form', { class: 'filters', 'aria-label': 'Filter chargebacks' },
      select('cb-status', 'Status', statuses, 'any status'), h('button', { type: 'submit' }, 'Show'));
    const results = h('div', {});
    const run = async () => {
      try {
        const page = await api('GET', '/admin/chargebacks' + query({ status: filters.elements['cb-status'].value, limit: 100 }));
        const rows = page.data.map((c) => h('tr', {},
          h('td', { class: 'mono' }, c.id), h('td', {}, bookingLink(c.booking_id)), h('td', {}, c.provider_id),
          h('td', { class: 'num' }, money(c.refund_amount, c.currency)), h('td', {}, badge(c.status)),
          h('td', {}, c.resolution ? words(c.resolution) : '—'), h('td', {}, when(c.due_at)),
          h('td', {}, c.response ? [words(c.response), ' by ', c.answered_by] : '—'),
          h('td', {}, c.resolution && c.resolution !== 'declined'
            ? ['escrow ', money(c.from_escrow, c.currency), ', provider ', money(c.from_provider, c.currency), ', platform loss ', money(c.platform_loss, c.currency)]
            : '—'),
          h('td', {}, c.status === 'awaiting-merchant-feedback' && !c.response ? chargebackForm(c, run) : '')));
        results.replaceChildren(rows.length
          ? table(`${rows.length} chargeback${rows.length === 1 ? '' : 's'}, newest first`,
            [{ label: 'Dispute', num: true }, 'Booking', 'Provider', { label: 'Claimed', num: true }, 'Status', 'Resolution', 'Answer due', 'Answered', 'Money taken back from', 'Action'], rows)
          : h('p', { class: 'panel' }, 'No chargeback matches.'));
      } catch (error) { fail(error); }
    };
    filters.addEventListener('submit', (event) => { event.preventDefault(); clearMessages(); run(); });
    show(h('h2', {}, 'Paystack chargebacks'),
      h('p', { class: 'muted' }, 'A chargeback freezes what the booking holds until Paystack resolves it. Accepting returns the money through the card network (never as a refund); declining contests it with evidence, and the bank decides.'),
      h('section', { class: 'panel' }, filters), results);
    run();
  }

  // ---- revenue --------------------------------------------------------------------------------

  function viewRevenue() {
    clearMessages();
    const filters = h('form', { class: 'filters', 'aria-label': 'Revenue period' },
      field('rev-from', 'From (date)', { type: 'date' }), field('rev-to', 'To (date, exclusive)', { type: 'date' }),
      h('button', { type: 'submit' }, 'Show'));
    const results = h('div', {});
    const run = async () => {
      try {
        const report = await api('GET', '/admin/revenue' + query({ from: filters.elements['rev-from'].value, to: filters.elements['rev-to'].value }));
        results.replaceChildren(report.data.length
          ? table('Revenue by currency', ['Currency', { label: 'Fees earned', num: true }, { label: 'Paystack fees', num: true }, { label: 'Chargeback losses', num: true }, { label: 'Net', num: true }],
            report.data.map((r) => h('tr', {}, h('td', {}, r.currency), h('td', { class: 'num' }, money(r.platform_fees, r.currency)),
              h('td', { class: 'num' }, money(r.paystack_fees, r.currency)), h('td', { class: 'num' }, money(r.chargeback_losses, r.currency)),
              h('td', { class: 'num' }, money(r.net, r.currency)))))
          : h('p', { class: 'panel' }, 'Nothing was earned or paid in this period.'));
      } catch (error) { fail(error); }
    };
    filters.addEventListener('submit', (event) => { event.preventDefault(); clearMessages(); run(); });
    show(h('h2', {}, 'Revenue'), h('section', { class: 'panel' }, filters), results);
    run();
  }

  // ---- start ----------------------------------------------------------------------------------

  document.addEventListener('DOMContentLoaded', () => {
    $('sign-in-form').addEventListener('submit', signIn);
    $('sign-out').addEventListener('click', () => signOut());
    window.addEventListener('hashchange', () => { if (token()) route(); });
    if (token()) {
      showApp();
      route();
    } else {
      signOut();
    }
  });
})();
