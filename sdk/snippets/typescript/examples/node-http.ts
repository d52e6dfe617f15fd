// Plain node:http (no framework): collect the raw body chunks, verify, then parse.
import { createServer } from "node:http";
import { verifyStandardWebhooks, WebhookVerificationError } from "../src/verify";

const secret = process.env.HOOKSEAL_SECRET ?? "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

export const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    const body = Buffer.concat(chunks); // the exact bytes that were signed
    try {
      verifyStandardWebhooks(body, req.headers, secret);
    } catch (err) {
      res.statusCode = err instanceof WebhookVerificationError ? 400 : 500;
      res.end(err instanceof WebhookVerificationError ? err.code : "error");
      return;
    }
    const event = JSON.parse(body.toString("utf8")) as { type: string };
    res.end(`got ${event.type}`);
  });
});
