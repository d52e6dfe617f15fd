// Verify Hookseal webhooks in Node.js with nothing but Node's own `crypto` module.
// Copy this file into your project. Ed25519 (`whpk_` keys, `v1a` signatures) is built in.
//
//   try {
//     verifyHooksealV1(req.body /* the raw Buffer */, req.headers, process.env.HOOKSEAL_SECRET!);
//   } catch (err) {
//     if (err instanceof WebhookVerificationError) return res.status(400).send(err.code);
//     throw err;
//   }
//   for (const event of parseEvents(req.body)) handle(event); // a batch or one event, once verified

// --8<-- [start:verify]
import { createHmac, createPublicKey, KeyObject, timingSafeEqual, verify } from "node:crypto";

export const TOLERANCE = 300; // seconds a signed timestamp may differ from our clock, either way
const MAX_HEADER_BYTES = 8192; // bounded work: bigger signature headers are refused unparsed
const MAX_ELEMENTS = 32;
const TIMESTAMP = /^[0-9]{1,18}$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const TOKEN = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/; // what may start an HTTP header name

export type VerificationErrorCode =
  | "missing_header"
  | "malformed_header"
  | "timestamp_too_old"
  | "timestamp_in_future"
  | "signature_mismatch"
  | "invalid_payload"; // from parseEvents only

/** The request is not a genuine, fresh delivery: answer 400 and drop it. */
export class WebhookVerificationError extends Error {
  constructor(readonly code: VerificationErrorCode, message: string) {
    super(message);
  }
}

/** The secrets or options are wrong: a bug in your set-up, not a bad request. */
export class ConfigurationError extends Error {
  readonly code = "invalid_configuration";
}

/** Node's `req.headers` fits, and so does any plain object of header names to values. */
export type Headers = Record<string, string | string[] | undefined>;

export interface VerifyOptions {
  /** Seconds the signed timestamp may be off, either way (default 300). */
  tolerance?: number;
  /** The current Unix time in seconds; defaults to the system clock (set it in tests). */
  now?: number;
  /** hookseal-v1 only: `Hookseal` unless your provider renamed the headers. */
  headerPrefix?: string;
}

// --8<-- [start:hookseal-v1]
/**
 * Verify a `hookseal-v1` delivery (`Hookseal-Signature: t=<ts>,v1=<hex>`).
 *
 * @param body the raw request body bytes exactly as received, never re-serialized JSON
 * @param secrets your `whsec_...` secret, several while you rotate, or `whpk_...` Ed25519 keys
 * @throws WebhookVerificationError when the request must be rejected (see `.code`)
 * @throws ConfigurationError for no secrets, an empty one or a bad option
 */
export function verifyHooksealV1(
  body: Uint8Array,
  headers: Headers,
  secrets: string | readonly string[],
  options: VerifyOptions = {},
): void {
  rawBody(body);
  const keys = parseKeys(secrets, options, false);
  const prefix = options.headerPrefix ?? "Hookseal";
  if (!TOKEN.test(prefix)) throw new ConfigurationError("headerPrefix must be a header name token");
  const header = findHeader(headers, `${prefix}-Signature`);
  const timestamps: string[] = [];
  const v1: string[] = [];
  const v1a: string[] = [];
  for (const element of split(header, ",")) {
    // Each element splits at its first "=", no trimming; unknown keys are ignored.
    const at = element.indexOf("=");
    const [key, value] = at < 0 ? [element, ""] : [element.slice(0, at), element.slice(at + 1)];
    if (key === "t") timestamps.push(value);
    else if (key === "v1") v1.push(value);
    else if (key === "v1a") v1a.push(value);
  }
  if (timestamps.length !== 1) fail("malformed_header", "need exactly one t= element");
  checkKinds(keys, v1, v1a);
  const timestamp = checkTimestamp(timestamps[0], options);

  const signed = Buffer.concat([Buffer.from(`${timestamp}.`), body]);
  for (const key of keys.hmac) {
    // digest("hex") is lowercase, so uppercase hex never matches, as the contract says.
    const expected = Buffer.from(createHmac("sha256", key).update(signed).digest("hex"));
    if (v1.some((value) => safeEqual(expected, Buffer.from(value)))) return;
  }
  if (anyEd25519(keys.ed25519, v1a, signed)) return;
  fail("signature_mismatch", "no signature matches");
}
// --8<-- [end:hookseal-v1]

// --8<-- [start:standard-webhooks]
/**
 * Verify a Standard Webhooks delivery (`webhook-id`, `webhook-timestamp`, `webhook-signature`).
 * Same inputs and errors as `verifyHooksealV1`; a secret is base64 of at least one byte
 * (padded or not), with or without the `whsec_` prefix.
 */
export function verifyStandardWebhooks(
  body: Uint8Array,
  headers: Headers,
  secrets: string | readonly string[],
  options: VerifyOptions = {},
): void {
  rawBody(body);
  const keys = parseKeys(secrets, options, true);
  const id = findHeader(headers, "webhook-id");
  const timestamp = findHeader(headers, "webhook-timestamp");
  const v1: string[] = [];
  const v1a: string[] = [];
  for (const entry of split(findHeader(headers, "webhook-signature"), " ")) {
    const comma = entry.indexOf(",");
    if (comma < 0) fail("malformed_header", "an entry has no comma");
    const version = entry.slice(0, comma);
    if (version === "v1") v1.push(entry.slice(comma + 1));
    else if (version === "v1a") v1a.push(entry.slice(comma + 1));
  }
  checkKinds(keys, v1, v1a);
  checkTimestamp(timestamp, options);

  const signed = Buffer.concat([Buffer.from(`${id}.${timestamp}.`), body]);
  for (const key of keys.hmac) {
    const expected = createHmac("sha256", key).update(signed).digest();
    for (const value of v1) {
      const received = strictBase64(value, 32); // anything else matches nothing
      if (received && safeEqual(expected, received)) return;
    }
  }
  if (anyEd25519(keys.ed25519, v1a, signed)) return;
  fail("signature_mismatch", "no signature matches");
}
// --8<-- [end:standard-webhooks]

// --8<-- [start:batches]
/**
 * The events of a VERIFIED body: a batch (a JSON array of events) or one event, as an
 * array in the sender's order. Call it only after `verify*` accepted `body`, and
 * deduplicate by each event's `id`.
 * @throws WebhookVerificationError with code `invalid_payload` (not JSON, or not an
 *   object or an array of objects)
 */
export function parseEvents(body: Buffer): Record<string, unknown>[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    fail("invalid_payload", "the body is not JSON");
  }
  const events: unknown[] = Array.isArray(parsed) ? parsed : [parsed];
  if (!events.every((e) => typeof e === "object" && e !== null && !Array.isArray(e))) {
    fail("invalid_payload", "the body is not an event or an array of events");
  }
  return events as Record<string, unknown>[];
}
// --8<-- [end:batches]

interface Keys {
  hmac: Buffer[];
  ed25519: KeyObject[];
}

function parseKeys(
  secrets: string | readonly string[],
  options: VerifyOptions,
  standard: boolean,
): Keys {
  const list = typeof secrets === "string" ? [secrets] : secrets;
  const tolerance = options.tolerance ?? TOLERANCE;
  if (!Array.isArray(list) || !list.length || !Number.isSafeInteger(tolerance) || tolerance < 0) {
    throw new ConfigurationError("need at least one secret and a tolerance >= 0");
  }
  const keys: Keys = { hmac: [], ed25519: [] };
  for (const secret of list) {
    if (typeof secret !== "string" || secret === "" || secret === "whsec_") {
      throw new ConfigurationError("a secret must be a non-empty string");
    }
    if (secret.startsWith("whpk_")) {
      keys.ed25519.push(ed25519PublicKey(lenientBase64(secret.slice(5), 32)));
    } else if (secret.startsWith("whsk_")) {
      throw new ConfigurationError("whsk_ is the sender's private key: use its whpk_ key");
    } else if (standard) {
      // Standard Webhooks keys are the base64-decoded bytes after "whsec_", of any length
      // (the specification's own libraries verify with short keys too).
      keys.hmac.push(lenientBase64(secret.startsWith("whsec_") ? secret.slice(6) : secret));
    } else {
      // hookseal-v1 (like Stripe) keys HMAC with the whole string, prefix included.
      keys.hmac.push(Buffer.from(secret, "utf8"));
    }
  }
  return keys;
}

function rawBody(body: unknown): void {
  // The classic mistake: express.json() already parsed the body, so req.body is an object.
  if (!(body instanceof Uint8Array)) {
    throw new TypeError("pass the raw body bytes (express.raw()), not a parsed object or string");
  }
}

function findHeader(headers: Headers, name: string): string {
  let found: string | string[] | undefined;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== name.toLowerCase() || value === undefined) continue;
    // Two spellings of one name (or a repeated header) could hide which one was signed.
    if (found !== undefined || Array.isArray(value)) {
      fail("malformed_header", `${name} appears twice`);
    }
    found = value;
  }
  if (typeof found !== "string" || found === "") fail("missing_header", `${name} is missing`);
  return found;
}

function split(header: string, separator: string): string[] {
  // Bounded work: never parse (or let a sender make us hash for) a huge header.
  const parts = header.split(separator, MAX_ELEMENTS + 1);
  if (Buffer.byteLength(header) > MAX_HEADER_BYTES || parts.length > MAX_ELEMENTS) {
    fail("malformed_header", "signature header too large");
  }
  return parts;
}

function checkTimestamp(text: string, options: VerifyOptions): string {
  if (!TIMESTAMP.test(text)) fail("malformed_header", "timestamp is not 1-18 digits");
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const tolerance = options.tolerance ?? TOLERANCE;
  // Number() is exact near `now`, which is the only place the comparison is close.
  if (now - Number(text) > tolerance) fail("timestamp_too_old", "timestamp too old");
  if (Number(text) - now > tolerance) fail("timestamp_in_future", "timestamp in the future");
  return text; // sign the text exactly as received (leading zeros included)
}

function checkKinds(keys: Keys, v1: string[], v1a: string[]): void {
  if (!(keys.hmac.length && v1.length) && !(keys.ed25519.length && v1a.length)) {
    fail("malformed_header", "no signature we hold a key for");
  }
}

function safeEqual(expected: Buffer, received: Buffer): boolean {
  // timingSafeEqual throws on a length mismatch; the length is no secret.
  return expected.length === received.length && timingSafeEqual(expected, received);
}

/** Decode padded standard base64 of exactly `size` bytes, or return undefined. */
function strictBase64(text: string, size: number): Buffer | undefined {
  if (!BASE64.test(text)) return undefined;
  const raw = Buffer.from(text, "base64");
  // Node's decoder is lenient; re-encoding rejects unpadded or non-canonical spellings.
  return raw.length === size && raw.toString("base64") === text ? raw : undefined;
}

/** Decode a configured key: standard base64, padded or not, of `size` bytes (or any). */
function lenientBase64(text: string, size?: number): Buffer {
  const padded = text + "=".repeat((4 - (text.length % 4)) % 4);
  const raw = Buffer.from(padded, "base64");
  if (text.length % 4 === 1 || !BASE64.test(padded) || raw.length === 0) {
    throw new ConfigurationError("a key is not valid base64");
  }
  if (size !== undefined && raw.length !== size) {
    throw new ConfigurationError(`a key must decode to ${size} bytes`);
  }
  return raw;
}

function ed25519PublicKey(raw: Buffer): KeyObject {
  try {
    const jwk = { kty: "OKP", crv: "Ed25519", x: raw.toString("base64url") };
    return createPublicKey({ key: jwk, format: "jwk" });
  } catch {
    throw new ConfigurationError("a whpk_ key is not an Ed25519 public key");
  }
}

function anyEd25519(keys: KeyObject[], v1a: string[], signed: Buffer): boolean {
  for (const value of v1a) {
    const signature = strictBase64(value, 64);
    if (signature && keys.some((key) => verify(null, signed, key, signature))) return true;
  }
  return false;
}

function fail(code: VerificationErrorCode, message: string): never {
  throw new WebhookVerificationError(code, message);
}
// --8<-- [end:verify]
