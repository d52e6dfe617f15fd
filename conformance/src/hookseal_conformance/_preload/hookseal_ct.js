// Wrap crypto.timingSafeEqual and log each call (see hookseal_conformance._preload).
'use strict';
const log = process.env.HOOKSEAL_CT_LOG;
if (log) {
  const fs = require('fs');
  const crypto = require('crypto');
  const write = (line) => { try { fs.appendFileSync(log, line); } catch (e) { /* ignore */ } };
  const size = (v) => (v && typeof v.byteLength === 'number' ? v.byteLength : (v && v.length) || -1);
  const original = crypto.timingSafeEqual;
  crypto.timingSafeEqual = function timingSafeEqual(a, b) {
    write(`call node ${size(a)} ${size(b)}\n`);
    return original.apply(this, arguments);
  };
  try { require('module').syncBuiltinESMExports(); } catch (e) { /* old node */ }
  write(`loaded node ${process.pid}\n`);
}
