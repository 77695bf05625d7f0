// Rendering for the JWTShield console. Everything that comes from a token or a remote
// document is put in the page as text (textContent), never as HTML.

export const EIGHT = ['signature', 'algorithm', 'issuer', 'audience', 'expiry', 'not_before',
  'required_claims', 'key_freshness'];

const LABELS = {
  signature: 'Signature', algorithm: 'Algorithm allowlist', issuer: 'Issuer (iss)',
  audience: 'Audience (aud)', expiry: 'Expiry (exp)', not_before: 'Not before (nbf)',
  required_claims: 'Required claims', key_freshness: 'Key freshness', format: 'Format',
  token_type: 'Token type (typ)', max_ttl: 'Maximum lifetime', issued_at: 'Issued at (iat)',
  scopes: 'Scopes', revocation: 'Revocation', dpop: 'DPoP proof',
  introspection: 'Introspection (RFC 7662)',
};

export function label(check) {
  return LABELS[check] || check;
}

/** An element with attributes and children (strings become text nodes). */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
  return e;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

/** "3 minutes", "2 hours 5 minutes", "4 days". */
export function span(seconds) {
  const s = Math.abs(Math.round(seconds));
  if (s < 90) return `${s} second${s === 1 ? '' : 's'}`;
  const m = Math.round(s / 60);
  if (m < 90) return `${m} minute${m === 1 ? '' : 's'}`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} hour${h === 1 ? '' : 's'}${m % 60 ? ` ${m % 60} minute${m % 60 === 1 ? '' : 's'}` : ''}`;
  const d = Math.round(h / 24);
  return `${d} day${d === 1 ? '' : 's'}`;
}

function text(v) {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** Two values side by side with the part that differs marked. */
function marked(a, b) {
  const x = text(a);
  const y = text(b);
  let p = 0;
  while (p < x.length && p < y.length && x[p] === y[p]) p++;
  let s = 0;
  while (s < x.length - p && s < y.length - p && x[x.length - 1 - s] === y[y.length - 1 - s]) s++;
  const part = (v) => {
    const mid = v.slice(p, v.length - s);
    // nothing in between (one value is the other plus a character): mark the edge
    if (!mid) return [v];
    return [v.slice(0, p), el('mark', {}, mid), v.slice(v.length - s)];
  };
  // unrelated values: mark nothing rather than everything
  if (p === 0 && s === 0) return [[x], [y]];
  return [part(x), part(y)];
}

function evidenceTable(ev) {
  if (!ev || typeof ev !== 'object') return null;
  const rows = [];
  const has = (k) => Object.prototype.hasOwnProperty.call(ev, k);
  if (has('expected') && has('actual')) {
    let expected = ev.expected;
    // an allowlist: compare with its closest member
    if (Array.isArray(expected) && typeof ev.actual === 'string' && expected.length === 1) expected = expected[0];
    const [e, a] = marked(expected, ev.actual);
    rows.push(el('tr', {}, el('th', { scope: 'row' }, 'expected'), el('td', {}, e)));
    rows.push(el('tr', {}, el('th', { scope: 'row' }, 'actual'), el('td', {}, a)));
  }
  for (const [k, v] of Object.entries(ev)) {
    if (k === 'expected' || k === 'actual') continue;
    rows.push(el('tr', {}, el('th', { scope: 'row' }, k), el('td', {}, text(v))));
  }
  return rows.length ? el('table', { class: 'evidence' }, el('tbody', {}, rows)) : null;
}

/** Plain words for the failures people hit most; the finding's own message says the rest. */
function fixFor(f, claims, now, all) {
  const c = claims || {};
  const idToken = all.some((x) => x.code === 'ID_TOKEN_SUSPECTED');
  // the service's own hint (trailing slash, other tenant, client id...) says it better
  const hinted = all.some((x) => x.check === f.check && x.severity !== 'error' && x.code !== 'ID_TOKEN_SUSPECTED');
  switch (f.code) {
    case 'TOKEN_EXPIRED':
      if (typeof c.exp === 'number') {
        return `The token expired ${span(now - c.exp)} ago (${new Date(c.exp * 1000).toISOString()}). Get a new one: access tokens are short-lived by design; the client should refresh before exp.`;
      }
      return 'The token has expired: get a new one.';
    case 'TOKEN_NOT_YET_VALID':
      return typeof c.nbf === 'number'
        ? `The token becomes valid in ${span(c.nbf - now)}: the issuer's clock or this machine's is off.`
        : 'The token is not valid yet: a clock is off.';
    case 'SIGNATURE_INVALID':
      return 'The signature does not match the header and claims: the token was changed after it was signed, or it was signed with another key than the issuer publishes. Do not trust anything in it.';
    case 'TOKEN_OPAQUE':
    case 'TOKEN_IS_JWE':
      return 'This is not a signed JWT access token. With Auth0 this happens when the authorize or token request has no `audience`: request the token with audience=<your API identifier> to get a JWT for your API.';
    case 'TOKEN_REVOKED':
      return 'A revocation rule matches this token: it was revoked on purpose (see the rule in the evidence). Sign in again for a new token.';
    case 'KID_NOT_FOUND':
      return 'No key of the issuer has this kid: the keys were rotated, or the token comes from another tenant or environment.';
    case 'JWKS_UNREACHABLE':
      return 'The issuer\'s keys could not be fetched and none are cached: check the issuer URL and that this service can reach it (Status and Issuer doctor tell more).';
    case 'ALG_NOT_ALLOWED':
      return 'The token is signed with an algorithm the policy does not allow: allow the issuer\'s algorithm in allowed_algs (RS256 for Auth0), never `none`.';
    case 'AUDIENCE_MISMATCH':
      if (hinted) return null;
      if (idToken) {
        return 'This is an ID token, not an access token: its audience is the client application (its client id), not your API. Send the access token, requested with your API\'s identifier as the audience.';
      }
      return 'The token was issued for another API. Request it with this API\'s identifier as the audience, or add that identifier to the policy\'s audiences.';
    case 'ISSUER_MISMATCH':
      if (hinted) return null;
      return 'The token comes from another issuer than the policy names. Issuers compare exactly: copy `issuer` from the provider\'s discovery document.';
    case 'CLAIM_MISSING':
      return 'A claim the policy requires is not in the token: add it in the provider (an Auth0 Action for custom claims) or drop it from required_claims.';
    case 'SCOPE_MISSING':
      return 'The token lacks a required scope or permission: request it, and with Auth0 enable RBAC and "Add Permissions in the Access Token" for the API.';
    case 'DPOP_PROOF_MISSING':
      return 'This token is DPoP-bound (cnf.jkt): it is good only together with a fresh DPoP proof, signed by the client\'s key for each request. At the API, send Authorization: DPoP <token> and the DPoP header; here, the other checks above still tell whether the token itself is good.';
    case 'DPOP_BOUND_TOKEN_AS_BEARER':
      return 'A DPoP-bound token must be sent as Authorization: DPoP <token> with a DPoP proof, not as Bearer.';
    case 'TOKEN_INACTIVE':
      return 'The issuer says this opaque token is not active: it was revoked, it expired, or the issuer does not know it. Get a new token.';
    case 'INTROSPECTION_UNREACHABLE':
      return 'The issuer\'s introspection endpoint could not be asked (network, timeout, or it refused the client credentials in the profile): the token was not checked.';
    default:
      return null;
  }
}

/** The verdict and one line per check, the failed ones with findings, evidence and fixes. */
export function report(r, now) {
  const findings = r.findings || [];
  const checks = r.checks || {};
  const order = [...EIGHT, ...Object.keys(checks).filter((c) => !EIGHT.includes(c))];
  const errors = findings.filter((f) => f.severity === 'error').length;
  const items = order.map((check) => {
    const status = checks[check] || 'skipped';
    const mine = findings.filter((f) => f.check === check);
    const li = el('li', { 'data-check': check, 'data-status': status },
      el('div', { class: 'check-line' },
        el('span', { class: `badge ${status}` }, status === 'fail' ? 'fail' : status),
        el('span', { class: 'check-name' }, label(check))));
    for (const f of mine) li.append(finding(f, r.claims, now, findings));
    return li;
  });
  const elsewhere = findings.filter((f) => !order.includes(f.check));
  return {
    title: r.valid ? 'Valid: every check passed' : `Invalid: ${errors} error${errors === 1 ? '' : 's'}`,
    valid: r.valid,
    items,
    elsewhere: elsewhere.map((f) => finding(f, r.claims, now, findings)),
  };
}

function finding(f, claims, now, all) {
  const box = el('div', { class: 'finding', 'data-code': f.code, 'data-severity': f.severity });
  if (f.severity === 'error') {
    box.append(el('p', {}, el('strong', {}, f.message), ' ', el('span', { class: 'code' }, f.code)));
    const ev = evidenceTable(f.evidence);
    if (ev) box.append(ev);
    const fix = fixFor(f, claims, now, all);
    if (fix) box.append(el('p', { class: 'fix' }, el('strong', {}, 'Fix:'), fix));
  } else {
    box.append(el('p', { class: 'fix' }, el('strong', {}, f.severity === 'warning' ? 'Warning:' : 'Why:'),
      f.message, ' ', el('span', { class: 'code' }, f.code)));
  }
  return box;
}

export function problemItem(p) {
  const cls = p.severity === 'error' ? 'bad' : p.severity === 'warning' ? 'warn' : 'muted';
  return el('li', { 'data-code': p.code },
    el('span', { class: cls }, `${p.severity}: `), el('span', { class: 'code mono' }, p.code), ' — ', p.message);
}

export function keyRow(k) {
  const size = k.bits ? `${k.bits} bits` : k.crv || '';
  const algs = (k.algorithms || []).join(', ') || 'none (not for signatures)';
  return el('tr', {}, el('td', { class: 'mono' }, k.kid || '(no kid)'), el('td', {}, k.kty || ''),
    el('td', {}, size), el('td', {}, k.alg ? `${k.alg} (pinned)` : algs), el('td', {}, k.use || '—'));
}
