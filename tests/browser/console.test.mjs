// End-to-end tests of the JWTShield console in a real browser: Debian's chromium driven
// by playwright-core (no browser download). Started by crates/cli/tests/it/console.rs,
// which runs `jwtshield serve` with a local issuer and passes, in CONSOLE_FIXTURE, the
// service URL, the profile and the tokens it minted. Exits non-zero on the first failed
// assertion. Every request the page makes is intercepted: one to anything but the
// service fails the run.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const fx = JSON.parse(readFileSync(process.env.CONSOLE_FIXTURE, 'utf8'));
const shots = process.env.SCREENSHOTS_DIR;
if (shots) mkdirSync(shots, { recursive: true });
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const origin = new URL(fx.url).origin;
const EIGHT = ['signature', 'algorithm', 'issuer', 'audience', 'expiry', 'not_before', 'required_claims', 'key_freshness'];

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
});
const requests = [];
const foreign = [];
// requests that failed or never finished, for the report of a failed step
const trouble = [];
// requests sent and not yet answered, with when they were sent
const pending = new Map();
let failures = 0;

async function newPage(options = {}) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 }, ...options });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
  // every request of the context is seen here; only those that would leave the service
  // are intercepted (and aborted): the service's own go through untouched, as a request
  // held in interception was the one suspect when a check once waited 30 s for nothing
  context.on('request', (r) => {
    requests.push(r.url());
    pending.set(r, Date.now());
  });
  context.on('requestfinished', (r) => pending.delete(r));
  context.on('requestfailed', (r) => pending.delete(r));
  const leaves = (u) => u.origin !== origin || u.hostname !== '127.0.0.1';
  await context.route(leaves, (route) => {
    foreign.push(route.request().url());
    return route.abort();
  });
  const page = await context.newPage();
  page.on('requestfailed', (r) => trouble.push(`failed: ${r.method()} ${new URL(r.url()).pathname} ${r.failure() && r.failure().errorText}`));
  page.on('response', (r) => { if (r.status() >= 500) trouble.push(`${r.status()}: ${r.request().method()} ${new URL(r.url()).pathname}`); });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // script errors fail a step; a refused request shows up as its own failed assertion
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text()); });
  page.errors = errors;
  return page;
}

async function step(name, fn) {
  const t = Date.now();
  try {
    await fn();
    console.log(`ok   ${name} (${Date.now() - t} ms)`);
  } catch (e) {
    failures++;
    const waiting = [...pending].map(([r, t]) => `${r.method()} ${new URL(r.url()).pathname} for ${Date.now() - t} ms`);
    console.log(`FAIL ${name}\n${e.stack || e}\nrequests in trouble so far: ${JSON.stringify(trouble)}\nrequests without an answer: ${JSON.stringify(waiting)}`);
  }
}

async function open(page) {
  const res = await page.goto(`${fx.url}/`);
  assert.equal(res.status(), 200);
  await page.waitForFunction(() => document.querySelectorAll('#profile option').length > 0, null, { timeout: 60000 });
  return res;
}

async function check(page, token, { profile = fx.profile } = {}) {
  await page.fill('#token', token);
  await page.check('input[name="source"][value="profile"]');
  await page.selectOption('#profile', profile);
  await submit(page);
  return page.evaluate(() => ({
    title: document.getElementById('result-title').textContent,
    checks: Object.fromEntries([...document.querySelectorAll('#checklist > li')].map((li) => [li.dataset.check, li.dataset.status])),
    codes: [...document.querySelectorAll('#result [data-code]')].map((f) => f.dataset.code),
    text: document.getElementById('result').innerText,
    marks: [...document.querySelectorAll('#result mark')].map((m) => m.textContent),
  }));
}

/** Presses "Check the token" and waits for a new verdict (or the error that replaces it). */
async function submit(page, press = () => page.click('#run-check')) {
  const before = await page.evaluate(() => document.getElementById('result').dataset.run || '0');
  await press();
  await page.waitForFunction((b) => (document.getElementById('result').dataset.run || '0') !== b
    || document.getElementById('check-error').textContent !== '', before, { timeout: 30000 });
  assert.equal(await page.textContent('#check-error'), '', 'the check ran');
}

async function axe(page, label) {
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`), [], `axe on ${label}`);
}

function runShell(text) {
  return execFileSync('sh', ['-c', text], { encoding: 'utf8', timeout: 20000 });
}

await step('the page is served with a strict CSP, no-referrer, and loads only from the service', async () => {
  const page = await newPage();
  const res = await open(page);
  const h = res.headers();
  assert.match(h['content-security-policy'], /default-src 'none'/);
  assert.match(h['content-security-policy'], /script-src 'self'/);
  assert.doesNotMatch(h['content-security-policy'], /unsafe-inline|unsafe-eval|https?:/);
  assert.equal(h['referrer-policy'], 'no-referrer');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

await step('a valid token: decoded at once, then all eight checks pass', async () => {
  const page = await newPage();
  await open(page);
  await page.fill('#token', `Bearer ${fx.tokens.valid}`);
  await page.waitForSelector('#decoded:not([hidden])');
  const claims = await page.textContent('#decoded-claims');
  assert.match(claims, /"sub": "user-1"/);
  assert.match(await page.textContent('#decoded-times'), /expires in/);
  assert.match(await page.textContent('#token-note'), /Bearer/);
  const r = await check(page, fx.tokens.valid);
  assert.match(r.title, /^Valid/);
  for (const c of EIGHT) assert.equal(r.checks[c], 'pass', `${c}: ${JSON.stringify(r.checks)}`);
  if (shots) await page.screenshot({ path: `${shots}/console-valid.png`, fullPage: true });
  await axe(page, 'a valid result');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

await step('failing tokens show the failed check, the evidence and the fix', async () => {
  const page = await newPage();
  await open(page);
  let r = await check(page, fx.tokens.trailing_slash);
  assert.equal(r.checks.issuer, 'fail');
  assert.ok(r.codes.includes('ISSUER_MISMATCH') && r.codes.includes('ISSUER_TRAILING_SLASH'), r.codes.join());
  assert.match(r.text, /trailing slash/);
  assert.ok(r.marks.includes('/'), `the slash is marked: ${r.marks}`);
  for (const c of EIGHT.filter((c) => c !== 'issuer')) assert.equal(r.checks[c], 'pass', c);
  if (shots) await page.screenshot({ path: `${shots}/console-failing.png`, fullPage: true });
  await axe(page, 'a failing result');

  r = await check(page, fx.tokens.id_token);
  assert.equal(r.checks.audience, 'fail');
  assert.ok(r.codes.includes('ID_TOKEN_SUSPECTED'), r.codes.join());
  assert.match(r.text, /This is an ID token, not an access token/);

  r = await check(page, fx.tokens.expired);
  assert.equal(r.checks.expiry, 'fail');
  assert.ok(r.codes.includes('TOKEN_EXPIRED'));
  assert.match(r.text, /expired 1[01] minutes ago/);

  r = await check(page, fx.tokens.tampered);
  assert.equal(r.checks.signature, 'fail');
  assert.ok(r.codes.includes('SIGNATURE_INVALID'));
  assert.match(r.text, /changed after it was signed/);

  r = await check(page, fx.tokens.opaque);
  assert.match(r.title, /^Invalid/);
  assert.ok(r.codes.includes('TOKEN_OPAQUE'), r.codes.join());
  assert.match(r.text, /audience/);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

await step('the preset form fills the policy, and a policy check runs', async () => {
  const page = await newPage();
  await open(page);
  await page.check('input[name="source"][value="preset"]');
  await page.selectOption('#preset', 'auth0');
  await page.fill('#param-tenant', 'acme.auth0.com');
  await page.fill('#param-audience', 'https://api.acme.com/');
  await page.click('#preset-fill');
  await page.waitForSelector('[data-pane="policy"]:not([hidden])');
  const policy = JSON.parse(await page.inputValue('#policy'));
  assert.equal(policy.issuer, 'https://acme.auth0.com/');
  assert.deepEqual(policy.audiences, ['https://api.acme.com/']);
  assert.equal(policy.jwks_uri, 'https://acme.auth0.com/.well-known/jwks.json');
  assert.equal(await page.isChecked('input[name="source"][value="policy"]'), true);
  // a policy typed by hand: the local issuer's, as JSON
  await page.fill('#policy', JSON.stringify(fx.policy));
  await page.fill('#token', fx.tokens.valid);
  await submit(page);
  assert.match(await page.textContent('#result-title'), /^Valid/);
  await page.fill('#policy', '{"issuer": ');
  await page.click('#run-check');
  assert.match(await page.textContent('#check-error'), /not valid JSON/);
  await page.context().close();
});

await step('"copy as curl" and "jwtshield validate", run, give the same verdict', async () => {
  const page = await newPage();
  await open(page);
  for (const [name, token, valid] of [['valid', fx.tokens.valid, true], ['expired', fx.tokens.expired, false]]) {
    const r = await check(page, token);
    assert.equal(/^Valid/.test(r.title), valid, name);
    await page.click('[data-copy="curl"]');
    const curl = await page.inputValue('#copy-out');
    assert.match(curl, /^curl -sS -X POST/);
    const answer = JSON.parse(runShell(curl));
    assert.equal(answer.valid, valid, `${name} by curl`);
    const errors = answer.findings.filter((f) => f.severity === 'error').map((f) => f.code);
    for (const code of errors) assert.ok(r.codes.includes(code), `${code} shown`);
    // the clipboard holds the same text
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), curl);
    await page.click('[data-copy="cli"]');
    const cli = (await page.inputValue('#copy-out')).replace(/^jwtshield /m, `${fx.binary} `);
    let code = 0;
    try {
      execFileSync('sh', ['-c', cli], { env: { ...process.env, JWTSHIELD_PROFILES_FILE: fx.profiles_file }, stdio: 'pipe' });
    } catch (e) {
      code = e.status;
    }
    assert.equal(code, valid ? 0 : 1, `${name} by jwtshield validate`);
    await page.click('[data-copy="nginx"]');
    const nginx = await page.inputValue('#copy-out');
    assert.match(nginx, new RegExp(`/v1/authz\\?profile=${fx.profile};`));
    await page.click('[data-copy="policy"]');
    assert.equal(JSON.parse(await page.inputValue('#copy-out')).issuer, fx.policy.issuer);
  }
  await page.context().close();
});

await step('after checks no token is in storage, cookies or the URL, and a reload forgets it', async () => {
  const page = await newPage();
  await open(page);
  await check(page, fx.tokens.valid);
  await page.click('[data-copy="curl"]');
  const kept = await page.evaluate(() => ({
    local: JSON.stringify({ ...localStorage }), session: JSON.stringify({ ...sessionStorage }),
    cookie: document.cookie, url: location.href, history: history.length,
  }));
  assert.equal(kept.local, '{}');
  assert.equal(kept.session, '{}');
  assert.equal(kept.cookie, '');
  assert.equal(kept.url, `${fx.url}/`);
  assert.deepEqual(await page.context().cookies(), []);
  const sig = fx.tokens.valid.split('.')[2];
  assert.ok(requests.every((u) => !u.includes(sig)), 'no request URL carries the token');
  await page.reload();
  await page.waitForFunction(() => document.querySelectorAll('#profile option').length > 0, null, { timeout: 60000 });
  assert.equal(await page.inputValue('#token'), '');
  assert.equal(await page.isHidden('#result'), true);
  await page.context().close();
});

await step('the keyboard alone: paste, choose, check, copy, switch section', async () => {
  const page = await newPage();
  await open(page);
  const focused = () => page.evaluate(() => document.activeElement && (document.activeElement.id || document.activeElement.dataset.section || document.activeElement.dataset.copy || document.activeElement.tagName));
  const tabTo = async (want, max = 25, key = 'Tab') => {
    for (let i = 0; i < max; i++) {
      if ((await focused()) === want) return;
      await page.keyboard.press(key);
    }
    throw new Error(`Tab never reached ${want} (at ${await focused()})`);
  };
  await page.keyboard.press('Tab');
  assert.equal(await focused(), 'A', 'the skip link comes first');
  await tabTo('token');
  await page.keyboard.insertText(fx.tokens.expired);
  await tabTo('profile');
  await tabTo('run-check');
  await submit(page, () => page.keyboard.press('Enter'));
  assert.equal(await focused(), 'result-title', 'the verdict takes the focus');
  assert.equal(await page.getAttribute('#checklist li[data-check="expiry"]', 'data-status'), 'fail');
  await tabTo('curl');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#copy-out:not([hidden])');
  // the preset radio by arrow keys
  await page.focus('input[name="source"][value="profile"]');
  await page.keyboard.press('ArrowDown');
  assert.equal(await page.isChecked('input[name="source"][value="preset"]'), true);
  assert.equal(await page.isVisible('#preset'), true);
  await tabTo('status', 40, 'Shift+Tab');
  await page.keyboard.press('Enter');
  assert.equal(await focused(), 'status-title');
  assert.equal(await page.isVisible('#status'), true);
  // a visible focus ring
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  assert.notEqual(outline, 'none');
  await page.context().close();
});

await step('phone width and dark mode: no sideways scrolling, no contrast failure', async () => {
  const page = await newPage({ viewport: { width: 375, height: 740 }, colorScheme: 'dark', isMobile: true, hasTouch: true });
  await open(page);
  await check(page, fx.tokens.trailing_slash);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `page is ${overflow}px wider than the screen`);
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.equal(bg, 'rgb(19, 23, 27)', 'dark background');
  await axe(page, 'dark mode at phone width');
  if (shots) await page.screenshot({ path: `${shots}/console-phone-dark.png`, fullPage: true });
  await page.context().close();
});

await step('status: profiles, key sets with their keys, cache and store; it agrees with /readyz', async () => {
  const page = await newPage();
  await open(page);
  await page.click('.tab[data-section="status"]');
  await page.waitForSelector('#ready-state');
  const ready = await page.getAttribute('#ready-state', 'data-ready');
  const readyz = await page.evaluate(async () => (await fetch('/readyz')).status);
  assert.equal(ready, readyz === 200 ? 'true' : 'false');
  const text = await page.innerText('#status');
  assert.match(text, new RegExp(fx.profile));
  assert.match(text, /usable key/);
  assert.match(text, new RegExp(fx.jwks_url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  assert.match(text, /k1/);
  assert.match(text, /2048 bits/);
  assert.match(text, /next refresh/);
  assert.match(text, /entries/);
  assert.match(text, /embedded store/);
  if (shots) await page.screenshot({ path: `${shots}/console-status.png`, fullPage: true });
  await axe(page, 'status');
  await page.context().close();
});

await step('issuer doctor: a profile and a URL examined through the service', async () => {
  const page = await newPage();
  await open(page);
  await page.click('.tab[data-section="doctor"]');
  await page.selectOption('#doctor-profile', fx.profile);
  await page.click('#doctor-form button[type="submit"]');
  await page.waitForSelector('#doctor-result:not([hidden])');
  assert.equal(await page.getAttribute('#doctor-title-result', 'data-verdict'), 'problems');
  const text = await page.innerText('#doctor-result');
  assert.match(text, /JWKS_URI_NOT_HTTPS/);
  assert.match(text, /k1/);
  assert.match(text, /RS256/);
  if (shots) await page.screenshot({ path: `${shots}/console-doctor.png`, fullPage: true });
  await axe(page, 'doctor');
  await page.selectOption('#doctor-profile', '');
  await page.fill('#doctor-issuer', fx.down_issuer);
  await page.click('#doctor-form button[type="submit"]');
  await page.waitForFunction(() => document.getElementById('doctor-title-result').dataset.verdict === 'unreachable');
  assert.match(await page.innerText('#doctor-result'), /DISCOVERY_UNREACHABLE/);
  await page.context().close();
});

await step('no request left the service', async () => {
  assert.ok(requests.length > 20, `${requests.length} requests seen`);
  assert.deepEqual(foreign, []);
});

await browser.close();
console.log(`${failures === 0 ? 'all passed' : `${failures} failed`}; ${requests.length} requests, all to ${origin}`);
process.exit(failures === 0 ? 0 : 1);
