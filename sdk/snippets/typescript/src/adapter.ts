// Contract 5.1 verifier adapter for the TypeScript snippet: one JSON request per stdin line,
// exactly one JSON answer per stdout line, in order. It never crashes, whatever it is sent.
import { createInterface } from "node:readline";
import { ConfigurationError, verifyHooksealV1, verifyStandardWebhooks, WebhookVerificationError } from "./verify";

type Answer = { ok: true } | { ok: false; error: string; detail?: string };

const config = (detail: string): Answer => ({ ok: false, error: "invalid_configuration", detail });
const isInt = (value: unknown): value is number => typeof value === "number" && Number.isSafeInteger(value);

export function answer(request: unknown): Answer {
  if (typeof request !== "object" || request === null || Array.isArray(request)) {
    return config("a request must be a JSON object");
  }
  const r = request as Record<string, unknown>;
  const profile = r.profile ?? "hookseal-v1";
  if (profile !== "hookseal-v1" && profile !== "standard-webhooks") {
    return { ok: false, error: "unsupported_profile" };
  }
  const { secrets, headers, now } = r;
  const tolerance = r.tolerance ?? 300;
  const headerPrefix = r.header_prefix ?? "Hookseal";
  if (!Array.isArray(secrets) || typeof headers !== "object" || headers === null || Array.isArray(headers)) {
    return config("secrets must be a list and headers an object");
  }
  if (!Object.values(headers).every((value) => typeof value === "string")) {
    return config("header values must be strings");
  }
  if (!isInt(tolerance) || !(now === undefined || now === null || isInt(now)) || typeof headerPrefix !== "string") {
    return config("now and tolerance must be integers, header_prefix a string");
  }
  const bodyB64 = r.body_b64 ?? "";
  if (typeof bodyB64 !== "string" || !/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(bodyB64)) {
    return config("body_b64 is not base64");
  }
  const body = Buffer.from(bodyB64, "base64");
  const options = { tolerance, now: isInt(now) ? now : undefined, headerPrefix };
  try {
    if (profile === "hookseal-v1") verifyHooksealV1(body, headers as Record<string, string>, secrets, options);
    else verifyStandardWebhooks(body, headers as Record<string, string>, secrets, options);
  } catch (err) {
    if (err instanceof ConfigurationError) return config(err.message);
    if (err instanceof WebhookVerificationError) return { ok: false, error: err.code, detail: err.message };
    return config(`unexpected: ${String(err)}`);
  }
  return { ok: true };
}

function main(): void {
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  lines.on("line", (line) => {
    if (line.trim() === "") return;
    let response: Answer;
    try {
      response = answer(JSON.parse(line));
    } catch (err) {
      response = config(`unreadable request: ${String(err)}`);
    }
    // On Linux, writes to a pipe are synchronous: every answer is flushed, in order.
    process.stdout.write(JSON.stringify(response) + "\n");
  });
}

if (require.main === module) main();
