// Express: verify the raw body Buffer, then parse it yourself.
// Needs express (npm install express) and verify.ts copied into your project.
import express from "express";
import { verifyHooksealV1, WebhookVerificationError } from "../src/verify";

const app = express();
const secret = process.env.HOOKSEAL_SECRET ?? "whsec_test";

// RIGHT: express.raw() keeps the body as the exact bytes that were signed. Mount it on
// the webhook route only (before any app-wide express.json()).
// --8<-- [start:call]
app.post("/webhooks", express.raw({ type: "*/*" }), (req, res) => {
  try {
    verifyHooksealV1(req.body as Buffer, req.headers, secret);
  } catch (err) {
    if (err instanceof WebhookVerificationError) return res.status(400).send(err.code);
    throw err;
  }
  const event = JSON.parse((req.body as Buffer).toString("utf8")) as { type: string };
  return res.status(200).send(`got ${event.type}`);
});
// --8<-- [end:call]

// WRONG, do not copy: express.json() parsed the body and JSON.stringify re-serializes it.
// Spacing, key order and escapes can differ from what was signed, so genuine deliveries
// get rejected (and someone "fixes" it by turning verification off).
app.post("/webhooks-wrong", express.json(), (req, res) => {
  try {
    verifyHooksealV1(Buffer.from(JSON.stringify(req.body)), req.headers, secret);
  } catch (err) {
    if (err instanceof WebhookVerificationError) return res.status(400).send(err.code);
    throw err;
  }
  return res.status(200).send("ok");
});

export default app;
