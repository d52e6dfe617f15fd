// Native test of the snippet: every case of the shared vectors file (sdk/vectors/vectors.json,
// or $HOOKSEAL_VECTORS) through the adapter's request handling, plus the API a customer uses.
// A missing vectors file fails the test: it is never skipped.
import assert from "node:assert/strict";
import { createHmac, generateKeyPairSync, sign } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { AddressInfo } from "node:net";
import { server } from "../examples/node-http";
import { answer } from "./adapter";
import {
  ConfigurationError,
  parseEvents,
  verifyHooksealV1,
  verifyStandardWebhooks,
  WebhookVerificationError,
} from "./verify";

interface Case {
  tcId: number;
  comment: string;
  flags: string[];
  request: Record<string, unknown>;
  expected: { ok: boolean; error?: string };
}

// build/src/ -> sdk/snippets/typescript -> sdk/vectors
const vectorsPath = process.env.HOOKSEAL_VECTORS ?? join(__dirname, "..", "..", "..", "..", "vectors", "vectors.json");

test("every shared vector gives the expected answer", () => {
  const vectors = JSON.parse(readFileSync(vectorsPath, "utf8")) as { testGroups: { tests: Case[] }[] };
  const cases = vectors.testGroups.flatMap((group) => group.tests);
  assert.ok(cases.length > 0, "the vectors file has no cases");
  assert.ok(cases.some((c) => c.flags.includes("ed25519") && c.expected.ok), "no valid v1a case");
  const failures = cases
    .map((c) => ({ c, got: answer(c.request) }))
    .filter(({ c, got }) => got.ok !== c.expected.ok || (!got.ok && got.error !== c.expected.error))
    .map(({ c, got }) => `tcId ${c.tcId} (${c.comment}): got ${JSON.stringify(got)}`);
  assert.deepEqual(failures, []);
});

const secret = "whsec_" + Buffer.alloc(32, 7).toString("base64");
const body = Buffer.from('{"id":"evt_1","type":"invoice.paid"}');

function hooksealHeader(ts: number, ...secrets: string[]): string {
  const sigs = secrets.map((s) => "v1=" + createHmac("sha256", s).update(`${ts}.`).update(body).digest("hex"));
  return [`t=${ts}`, ...sigs].join(",");
}

test("the clock is settable and defaults to the system clock", () => {
  const now = Math.floor(Date.now() / 1000);
  verifyHooksealV1(body, { "hookseal-signature": hooksealHeader(now, secret) }, secret);
  assert.throws(
    () => verifyHooksealV1(body, { "hookseal-signature": hooksealHeader(1000, secret) }, secret),
    (err: unknown) => err instanceof WebhookVerificationError && err.code === "timestamp_too_old",
  );
  verifyHooksealV1(body, { "hookseal-signature": hooksealHeader(1000, secret) }, secret, { now: 1100 });
});

test("a batch verifies like any body, then parses to its events in order", () => {
  const batch = Buffer.from('[{"id":"evt_1","type":"invoice.paid"},{"id":"evt_2","type":"invoice.paid"}]');
  const key = Buffer.from(secret.slice(6), "base64");
  const sig = createHmac("sha256", key).update("bat_1.9.").update(batch).digest("base64");
  const headers = { "webhook-id": "bat_1", "webhook-timestamp": "9", "webhook-signature": `v1,${sig}` };
  verifyStandardWebhooks(batch, headers, secret, { now: 9 });
  assert.deepEqual(parseEvents(batch).map((e) => e.id), ["evt_1", "evt_2"]);
  assert.deepEqual(parseEvents(body), [JSON.parse(body.toString())]);
  assert.deepEqual(parseEvents(Buffer.from("[]")), []);
  for (const bad of ['[{"id":"evt_1"},2]', '"x"', "null", "not json", "[[1]]"]) {
    assert.throws(
      () => parseEvents(Buffer.from(bad)),
      (err: unknown) => err instanceof WebhookVerificationError && err.code === "invalid_payload",
      bad,
    );
  }
});

test("any of several secrets verifies, and none is a configuration error", () => {
  const other = "whsec_" + Buffer.alloc(32, 9).toString("base64");
  verifyHooksealV1(body, { "Hookseal-Signature": hooksealHeader(5, other) }, [secret, other], { now: 5 });
  assert.throws(() => verifyHooksealV1(body, {}, [], { now: 5 }), ConfigurationError);
});

test("a re-serialized body does not verify, and a parsed one is refused", () => {
  const header = hooksealHeader(5, secret);
  const parsed = JSON.parse(body.toString()) as unknown as Uint8Array; // what express.json() leaves
  assert.throws(() => verifyHooksealV1(parsed, { "hookseal-signature": header }, secret, { now: 5 }), TypeError);
  const reserialized = Buffer.from(JSON.stringify(JSON.parse(body.toString()), null, 2));
  assert.throws(
    () => verifyHooksealV1(reserialized, { "hookseal-signature": header }, secret, { now: 5 }),
    (err: unknown) => err instanceof WebhookVerificationError && err.code === "signature_mismatch",
  );
});

test("v1a: a Node-made Ed25519 signature verifies with the whpk_ key in both profiles", () => {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const raw = Buffer.from(publicKey.export({ format: "jwk" }).x as string, "base64url");
  const whpk = "whpk_" + raw.toString("base64");
  const v1a = sign(null, Buffer.concat([Buffer.from("7."), body]), privateKey).toString("base64");
  verifyHooksealV1(body, { "hookseal-signature": `t=7,v1a=${v1a}` }, whpk, { now: 7 });
  const sw = sign(null, Buffer.concat([Buffer.from("msg_1.7."), body]), privateKey).toString("base64");
  const headers = { "webhook-id": "msg_1", "webhook-timestamp": "7", "webhook-signature": `v1a,${sw}` };
  verifyStandardWebhooks(body, headers, [whpk], { now: 7 });
  assert.throws(() => verifyStandardWebhooks(Buffer.from("{}"), headers, [whpk], { now: 7 }), WebhookVerificationError);
});

test("the node:http example verifies the raw body it collected", async () => {
  const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"; // the example's default
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const ts = String(Math.floor(Date.now() / 1000));
    const key = Buffer.from(secret.slice(6), "base64");
    const sig = createHmac("sha256", key).update(`msg_1.${ts}.`).update(body).digest("base64");
    const post = (payload: Buffer) =>
      fetch(`http://127.0.0.1:${port}/`, {
        method: "POST",
        body: new Uint8Array(payload),
        headers: { "webhook-id": "msg_1", "webhook-timestamp": ts, "webhook-signature": `v1,${sig}` },
      });
    const ok = await post(body);
    assert.deepEqual([ok.status, await ok.text()], [200, "got invoice.paid"]);
    const tampered = await post(Buffer.concat([body, Buffer.from(" ")]));
    assert.deepEqual([tampered.status, await tampered.text()], [400, "signature_mismatch"]);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});
