// A minimal hookseal-v1 verifier adapter in Node, to prove the constant-time probe:
// `node ct_verifier.js safe` compares with crypto.timingSafeEqual, `... eq` with ===.
'use strict';
const crypto = require('crypto');
const readline = require('readline');

const mode = process.argv[2] || 'safe';

function answer(req) {
  if (req.profile !== 'hookseal-v1') return { ok: false, error: 'unsupported_profile' };
  const secrets = req.secrets || [];
  // No v1a here: a whpk_ key answers invalid_configuration, its declaration (contract 5.1).
  if (!secrets.length || secrets.some((s) => s === '' || s === 'whsec_' || s.startsWith('whpk_'))) {
    return { ok: false, error: 'invalid_configuration' };
  }
  const name = `${req.header_prefix || 'Hookseal'}-Signature`.toLowerCase();
  let value = '';
  for (const [k, v] of Object.entries(req.headers || {})) if (k.toLowerCase() === name) value = v;
  if (!value) return { ok: false, error: 'missing_header' };
  let t = null;
  const sigs = [];
  for (const el of value.split(',')) {
    const i = el.indexOf('=');
    if (i < 0) continue;
    const [k, v] = [el.slice(0, i), el.slice(i + 1)];
    if (k === 't') t = v;
    else if (k === 'v1') sigs.push(v);
  }
  if (t === null || !/^[0-9]{1,18}$/.test(t) || !sigs.length) {
    return { ok: false, error: 'malformed_header' };
  }
  if (req.now - Number(t) > req.tolerance) return { ok: false, error: 'timestamp_too_old' };
  if (Number(t) - req.now > req.tolerance) return { ok: false, error: 'timestamp_in_future' };
  const body = Buffer.from(req.body_b64 || '', 'base64');
  for (const secret of secrets) {
    const expected = crypto.createHmac('sha256', Buffer.from(secret, 'utf8'))
      .update(`${t}.`).update(body).digest('hex');
    for (const sig of sigs) {
      const got = Buffer.from(sig);
      const same = mode === 'eq'
        ? sig === expected
        : got.length === 64 && crypto.timingSafeEqual(got, Buffer.from(expected));
      if (same) return { ok: true };
    }
  }
  return { ok: false, error: 'signature_mismatch' };
}

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  process.stdout.write(`${JSON.stringify(answer(JSON.parse(line)))}\n`);
});
