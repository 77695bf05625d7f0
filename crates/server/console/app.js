// The JWTShield console. It talks only to this service (same origin), keeps the token in
// this page's memory and its text box only (never storage, cookies or the URL), and
// forgets it when the page goes away.
import { el, clear, span, report, problemItem, keyRow } from '/console/view.js';

const $ = (id) => document.getElementById(id);
const state = { profiles: [], presets: [], last: null, runs: 0 };

async function send(path, init) {
  try {
    return await fetch(path, init);
  } catch {
    // a kept-alive connection closed under the request: every call here is free of side
    // effects (reads, checks), so it is sent once more on a fresh one
    await new Promise((r) => setTimeout(r, 200));
    return fetch(path, init);
  }
}

async function api(method, path, body) {
  const init = { method, cache: 'no-store', credentials: 'same-origin', referrerPolicy: 'no-referrer', headers: {} };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await send(path, init);
    // shed under load (503 + Retry-After): a read is retried a few times, a check once
    for (let tries = method === 'GET' ? 3 : 1; res.status === 503 && tries > 0; tries--) {
      const wait = Math.min(Number(res.headers.get('retry-after')) || 1, 2);
      await new Promise((r) => setTimeout(r, wait * 1000));
      res = await send(path, init);
    }
  } catch (e) {
    return { status: 0, ok: false, data: { detail: `the service did not answer (${e.message})` } };
  }
  const type = res.headers.get('content-type') || '';
  const data = type.includes('json') ? await res.json() : await res.text();
  return { status: res.status, ok: res.ok, data };
}

function problemText(p) {
  if (p && typeof p === 'object') return `${p.detail || p.title || 'request refused'}${p.field ? ` (field: ${p.field})` : ''}`;
  return String(p);
}

// ---- sections -------------------------------------------------------------------
function show(section, focus) {
  for (const tab of document.querySelectorAll('.tab')) {
    if (tab.dataset.section === section) tab.setAttribute('aria-current', 'page');
    else tab.removeAttribute('aria-current');
  }
  for (const id of ['check', 'status', 'doctor']) $(id).hidden = id !== section;
  if (section === 'status') refreshStatus();
  if (focus) {
    const h = $(`${section}-title`);
    h.setAttribute('tabindex', '-1');
    h.focus();
  }
}

// ---- the token ------------------------------------------------------------------
function tokenValue() {
  const raw = $('token').value.trim();
  const m = /^bearer\s+/i.exec(raw);
  return { token: m ? raw.slice(m[0].length).trim() : raw, stripped: !!m };
}

let decodeTimer = 0;
function onToken() {
  clearTimeout(decodeTimer);
  decodeTimer = setTimeout(decode, 200);
}

async function decode() {
  const { token, stripped } = tokenValue();
  $('token-note').textContent = stripped ? 'The "Bearer " prefix was removed: the token is what follows it.' : '';
  const box = $('decoded');
  if (!token) {
    box.hidden = true;
    return;
  }
  const { ok, data } = await api('POST', '/v1/inspect/token', { token });
  if (!ok) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  $('decoded-header').textContent = data.header ? JSON.stringify(data.header, null, 2) : '(does not decode)';
  $('decoded-claims').textContent = data.claims ? JSON.stringify(data.claims, null, 2) : '(does not decode)';
  const times = clear($('decoded-times'));
  for (const t of data.times || []) times.append(el('li', {}, el('code', {}, t.claim), ` ${t.utc || t.value}: ${t.relative}`));
  const warnings = clear($('decoded-warnings'));
  for (const w of [...(data.format_errors || []), ...(data.warnings || [])]) {
    warnings.append(el('li', {}, el('span', { class: 'warn' }, `${w.code}: `), w.message));
  }
}

// ---- what to check against ------------------------------------------------------
function source() {
  return document.querySelector('input[name="source"]:checked').value;
}

function onSource() {
  const s = source();
  for (const pane of document.querySelectorAll('.pane')) pane.hidden = pane.dataset.pane !== s;
}

function setSource(s) {
  document.querySelector(`input[name="source"][value="${s}"]`).checked = true;
  onSource();
}

async function loadProfiles() {
  const { ok, data } = await api('GET', '/v1/issuer-profiles');
  state.profiles = ok ? data : [];
  if (!ok) $('profile-none').textContent = `The issuer profiles could not be loaded: ${problemText(data)}`;
  const sel = clear($('profile'));
  const doc = $('doctor-profile');
  for (const p of state.profiles) {
    sel.append(el('option', { value: p.id }, `${p.id} — ${[].concat(p.policy.issuer).join(', ')}`));
    doc.append(el('option', { value: p.id }, p.id));
  }
  $('profile-none').hidden = state.profiles.length > 0;
  sel.hidden = state.profiles.length === 0;
  if (!state.profiles.length) setSource('preset');
}

async function loadPresets() {
  const { ok, data } = await api('GET', '/v1/presets');
  state.presets = ok ? data : [];
  const sel = clear($('preset'));
  for (const p of state.presets) sel.append(el('option', { value: p.name }, `${p.name} — ${p.provider}`));
  onPreset();
}

function onPreset() {
  const p = state.presets.find((x) => x.name === $('preset').value);
  const box = clear($('preset-params'));
  $('preset-error').textContent = '';
  if (!p) return;
  $('preset-about').textContent = p.description;
  for (const param of p.params) {
    const id = `param-${param.name}`;
    box.append(el('div', { class: 'field' },
      el('label', { for: id }, param.name, ' ', el('span', { class: 'muted' }, `(${param.description})`)),
      el('input', { id, type: 'text', 'data-param': param.name, placeholder: param.example || '', spellcheck: 'false', autocomplete: 'off' })));
  }
}

async function fillPreset() {
  const name = $('preset').value;
  const q = new URLSearchParams();
  for (const input of $('preset-params').querySelectorAll('input[data-param]')) {
    if (input.value.trim()) q.set(input.dataset.param, input.value.trim());
  }
  const { ok, data } = await api('GET', `/v1/presets/${encodeURIComponent(name)}?${q}`);
  if (!ok) {
    $('preset-error').textContent = problemText(data);
    return;
  }
  $('preset-error').textContent = '';
  $('policy').value = JSON.stringify(data, null, 2);
  setSource('policy');
  $('policy').focus();
}

// ---- the check ------------------------------------------------------------------
function requestBody(token) {
  const s = source();
  if (s === 'profile') {
    const id = $('profile').value;
    if (!id) throw new Error('choose an issuer profile, or check against a preset or a policy');
    return { token, issuer_profile_id: id };
  }
  if (s === 'preset') throw new Error('fill the preset\'s fields and press "Fill the policy" first');
  let policy;
  try {
    policy = JSON.parse($('policy').value);
  } catch (e) {
    throw new Error(`the policy is not valid JSON: ${e.message}`);
  }
  return { token, policy };
}

async function runCheck(ev) {
  ev.preventDefault();
  const err = $('check-error');
  err.textContent = '';
  const { token } = tokenValue();
  if (!token) {
    err.textContent = 'Paste a token first.';
    $('token').focus();
    return;
  }
  let body;
  try {
    body = requestBody(token);
  } catch (e) {
    err.textContent = e.message;
    return;
  }
  const { status, data } = await api('POST', '/v1/validate/jwt', body);
  if (status !== 200) {
    err.textContent = status === 0 ? `Not checked: ${problemText(data)}` : `The service refused the request: ${problemText(data)}`;
    return;
  }
  state.last = body;
  const view = report(data, Date.now() / 1000);
  const title = $('result-title');
  title.textContent = view.title;
  title.className = view.valid ? 'verdict-valid' : 'verdict-invalid';
  clear($('checklist')).append(...view.items);
  const other = clear($('other-findings'));
  if (view.elsewhere.length) other.append(el('h4', {}, 'Other findings'), ...view.elsewhere);
  $('copy-out').hidden = true;
  $('copy-note').textContent = '';
  $('result').hidden = false;
  // a new verdict, for whoever waits on it (the browser tests)
  state.runs += 1;
  $('result').dataset.run = String(state.runs);
  title.focus();
}

// ---- copy as --------------------------------------------------------------------
function shellQuote(s) {
  return `'${String(s).replace(/'/g, `'"'"'`)}'`;
}

function snippet(kind) {
  const body = state.last;
  const origin = window.location.origin;
  const profile = body.issuer_profile_id;
  switch (kind) {
    case 'curl':
      return `curl -sS -X POST ${shellQuote(`${origin}/v1/validate/jwt`)} \\\n  -H 'Content-Type: application/json' \\\n  --data-binary @- <<'JSON'\n${JSON.stringify(body)}\nJSON\n`;
    case 'cli':
      if (profile) {
        return `# with the service's profiles: --profiles FILE (or ISSUER_PROFILES_JSON)\njwtshield validate --profile ${shellQuote(profile)} - <<'TOKEN'\n${body.token}\nTOKEN\n`;
      }
      return `cat > policy.json <<'JSON'\n${JSON.stringify(body.policy, null, 2)}\nJSON\njwtshield validate --policy policy.json - <<'TOKEN'\n${body.token}\nTOKEN\n`;
    case 'policy': {
      const policy = profile ? (state.profiles.find((p) => p.id === profile) || {}).policy : body.policy;
      return `${JSON.stringify(policy, null, 2)}\n`;
    }
    case 'nginx': {
      const id = profile || 'YOUR_PROFILE';
      const note = profile ? '' : '# nginx checks against an issuer profile: save the policy under an id in the\n# service\'s --profiles file, and name that id below.\n';
      return `${note}upstream jwtshield { server ${window.location.host}; keepalive 16; }\n\nserver {\n  location = /_jwtshield {\n    internal;\n    proxy_pass http://jwtshield/v1/authz?profile=${encodeURIComponent(id)};\n    proxy_pass_request_body off;\n    proxy_set_header Content-Length "";\n    proxy_set_header X-Original-URI $request_uri;\n    proxy_http_version 1.1;\n    proxy_set_header Connection "";\n  }\n\n  location /api/ {\n    auth_request /_jwtshield;\n    auth_request_set $auth_subject $upstream_http_x_auth_subject;\n    auth_request_set $auth_scopes  $upstream_http_x_auth_scopes;\n    proxy_set_header X-Auth-Subject $auth_subject;\n    proxy_set_header X-Auth-Scopes  $auth_scopes;\n    proxy_pass http://app;\n  }\n}\n`;
    }
    default:
      return '';
  }
}

async function copyAs(kind) {
  if (!state.last) return;
  const out = $('copy-out');
  out.value = snippet(kind);
  out.dataset.kind = kind;
  out.hidden = false;
  let copied = false;
  try {
    await navigator.clipboard.writeText(out.value);
    copied = true;
  } catch {
    // no clipboard permission: the text is selected for Ctrl+C instead
  }
  out.focus();
  out.select();
  const secret = kind === 'curl' || kind === 'cli' ? ' It contains the token: keep it out of shell history and tickets.' : '';
  $('copy-note').textContent = (copied ? 'Copied to the clipboard.' : 'Selected: press Ctrl+C (Cmd+C) to copy.') + secret;
}

// ---- status ---------------------------------------------------------------------
function when(rfc3339) {
  if (!rfc3339) return '—';
  const t = Date.parse(rfc3339) / 1000;
  const d = t - Date.now() / 1000;
  return `${rfc3339} (${d >= 0 ? `in ${span(d)}` : `${span(d)} ago`})`;
}

function fact(dl, name, value) {
  dl.append(el('dt', {}, name), el('dd', {}, value));
}

async function refreshStatus() {
  if ($('status').hidden) return;
  const [st, ready] = await Promise.all([api('GET', '/v1/status'), api('GET', '/readyz')]);
  if (!st.ok) {
    $('status-summary').textContent = `The status could not be read (HTTP ${st.status}).`;
    return;
  }
  const s = st.data;
  $('version').textContent = `JWTShield ${s.version}`;
  const readyText = ready.status === 200
    ? el('span', { class: 'ok', id: 'ready-state', 'data-ready': 'true' }, 'Ready')
    : el('span', { class: 'bad', id: 'ready-state', 'data-ready': 'false' }, `Not ready: ${((ready.data && ready.data.not_ready) || []).map((p) => p.profile).join(', ')} without a usable key`);
  clear($('status-summary')).append(`Version ${s.version} · up ${span(s.uptime_seconds)} · `, readyText,
    s.jwks_insecure ? el('span', { class: 'bad' }, ' · SSRF guard OFF (--jwks-allow-insecure)') : '');
  const body = clear($('status-profiles').tBodies[0]);
  for (const p of s.profile_keys || []) {
    body.append(el('tr', {}, el('td', { class: 'mono' }, p.profile), el('td', {}, p.source),
      el('td', { class: 'mono' }, p.url || '—'),
      el('td', {}, p.usable ? el('span', { class: 'ok' }, 'usable key') : el('span', { class: 'bad' }, `no usable key: ${p.reason || 'unknown'}`))));
  }
  const sets = clear($('status-keysets'));
  if (!(s.key_sets || []).length) sets.append(el('p', { class: 'note' }, 'No key set fetched yet (profiles with inline keys fetch nothing).'));
  for (const k of s.key_sets || []) {
    const state = k.unusable
      ? el('span', { class: 'bad' }, `unreachable: ${k.last_error || 'never fetched'}`)
      : k.stale ? el('span', { class: 'warn' }, `stale (serving the last good keys): ${k.last_error}`)
        : k.last_error ? el('span', { class: 'warn' }, `last fetch failed: ${k.last_error}`)
          : el('span', { class: 'ok' }, 'fresh');
    const dl = el('dl', { class: 'facts' });
    fact(dl, 'state', state);
    fact(dl, 'fetched', when(k.fetched_at));
    fact(dl, 'expires', when(k.expires_at));
    fact(dl, 'next refresh', when(k.next_refresh_at));
    fact(dl, 'fetches', `${k.fetch_count} (${k.fetch_errors} failed)`);
    const table = el('table', {}, el('thead', {}, el('tr', {}, ['kid', 'Type', 'Size', 'Algorithms', 'use'].map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, (k.keys || []).map(keyRow)));
    const skipped = (k.skipped_keys || []).map((x) => el('li', {}, el('span', { class: 'mono' }, x.kid || '(no kid)'), `: ${x.reason}`));
    sets.append(el('div', { class: 'keyset' }, el('h4', { class: 'mono' }, k.url), dl, el('div', { class: 'scroll' }, table),
      skipped.length ? el('div', {}, el('p', {}, 'Skipped keys'), el('ul', {}, skipped)) : ''));
  }
  const c = s.verified_cache || {};
  $('status-cache').textContent = c.enabled
    ? `${c.entries} of ${c.capacity} entries · ${c.hits} hits · ${c.misses} misses`
    : 'off (--verified-cache-entries 0)';
  const r = s.revocations || {};
  clear($('status-store')).append(`Revocations in the ${r.store} store: ${r.rules} live rules, last sync ${span(r.stale_seconds || 0)} ago · `,
    r.healthy ? el('span', { class: 'ok' }, 'in sync') : el('span', { class: 'bad' }, `store unreachable, enforcing the last known rules: ${r.last_error}`),
    ` · rate limits: ${(s.rate_limits || {}).mode}, ${(s.rate_limits || {}).refused} refused`);
}

// ---- issuer doctor --------------------------------------------------------------
async function runDoctor(ev) {
  ev.preventDefault();
  const err = $('doctor-error');
  err.textContent = '';
  const profile = $('doctor-profile').value;
  const issuer = $('doctor-issuer').value.trim();
  if (!profile && !issuer) {
    err.textContent = 'Enter an issuer URL or choose a profile.';
    $('doctor-issuer').focus();
    return;
  }
  $('doctor-result').hidden = true;
  const { status, data } = await api('POST', '/v1/issuers/check', profile ? { issuer_profile_id: profile } : { issuer });
  if (status !== 200) {
    err.textContent = problemText(data);
    return;
  }
  const words = { healthy: 'Healthy', problems: 'Problems found', unreachable: 'Unreachable' };
  const title = $('doctor-title-result');
  title.textContent = `${words[data.verdict] || data.verdict}: ${data.issuer}`;
  title.className = data.verdict === 'healthy' ? 'verdict-valid' : 'verdict-invalid';
  title.dataset.verdict = data.verdict;
  const dl = clear($('doctor-facts'));
  fact(dl, 'discovery', data.discovery_url);
  fact(dl, 'issuer in document', data.discovery_issuer || '—');
  fact(dl, 'jwks_uri', data.jwks_uri || '—');
  fact(dl, 'Cache-Control', data.cache_control || '—');
  fact(dl, 'algorithms offered', (data.algorithms_offered || []).join(', ') || '—');
  if (data.algorithms_allowed) fact(dl, 'profile allows', data.algorithms_allowed.join(', '));
  clear($('doctor-keys').tBodies[0]).append(...(data.keys || []).map(keyRow));
  const problems = clear($('doctor-problems'));
  if (!(data.problems || []).length) problems.append(el('li', { class: 'ok' }, 'Nothing to report.'));
  problems.append(...(data.problems || []).map(problemItem));
  $('doctor-result').hidden = false;
  title.focus();
}

// ---- wiring ---------------------------------------------------------------------
function forget() {
  // the token lives nowhere else: no storage, no cookie, no URL
  $('token').value = '';
  $('copy-out').value = '';
  state.last = null;
}

document.addEventListener('DOMContentLoaded', () => {
  forget();
  for (const tab of document.querySelectorAll('.tab')) tab.addEventListener('click', () => show(tab.dataset.section, true));
  $('token').addEventListener('input', onToken);
  for (const r of document.querySelectorAll('input[name="source"]')) r.addEventListener('change', onSource);
  $('preset').addEventListener('change', onPreset);
  $('preset-fill').addEventListener('click', fillPreset);
  $('check-form').addEventListener('submit', runCheck);
  $('doctor-form').addEventListener('submit', runDoctor);
  for (const b of document.querySelectorAll('[data-copy]')) b.addEventListener('click', () => copyAs(b.dataset.copy));
  window.addEventListener('pagehide', forget);
  setInterval(refreshStatus, 5000);
  loadProfiles().then(loadPresets);
  api('GET', '/v1/status').then(({ ok, data }) => { if (ok) $('version').textContent = `JWTShield ${data.version}`; });
});
