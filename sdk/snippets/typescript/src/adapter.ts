// Contract 5.1 verifier adapter for the TypeScript snippet: one JSON request per stdin line,
// exactly one JSON answer per stdout line, in order. It never crashes, whatever it is sent.
import { createInterface } from "node:readline";
import { ConfigurationError, verifyHooksealV1, verifyStandardWebhooks, WebhookVerificationError } from "./verify";

type Answer = { ok: true } | { ok: false; error: string; detail?: string };

const fail = (error: string, detail = ""): Answer => ({ ok: false, error, detail });
const TOKEN = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Answer one decoded request. Malformed requests answer "invalid_request", like the SDK's adapter. */
export function answer(request: unknown): Answer {
  if (typeof request !== "object" || request === null || Array.isArray(request)) {
    return fail("invalid_request", "a request must be a JSON object");
  }
  const r = request as Record<string, unknown>;
  const field = (name: string, fallback: unknown): unknown => (name in r ? r[name] : fallback);
  const profile = field("profile", "hookseal-v1");
  if (profile !== "hookseal-v1" && profile !== "standard-webhooks") return fail("unsupported_profile");
  const bodyB64 = field("body_b64", "");
  if (typeof bodyB64 !== "string" || !BASE64.test(bodyB64)) return fail("invalid_request", "body_b64 is not base64");
  const now = field("now", null);
  if (now !== null && (typeof now !== "number" || !Number.isFinite(now))) {
    return fail("invalid_request", "now must be a number");
  }
  const secrets = field("secrets", []);
  const tolerance = field("tolerance", 300);
  const prefix = field("header_prefix", "Hookseal");
  if (!(typeof secrets === "string" || Array.isArray(secrets)) || typeof tolerance !== "number") {
    return fail("invalid_configuration", "secrets must be a string or a list, tolerance a number");
  }
  if (typeof prefix !== "string" || !TOKEN.test(prefix)) {
    return fail("invalid_configuration", "header_prefix must be a header name token");
  }
  let headers = field("headers", {});
  const wanted =
    profile === "hookseal-v1" ? [`${prefix}-signature`.toLowerCase()] : ["webhook-id", "webhook-timestamp", "webhook-signature"];
  const plain: Record<string, string> = {};
  // Like the SDK: headers that are not an object, or a wanted header that is not text,
  // are malformed, and null is absent. The verifier must report it (after its own
  // configuration checks), so such a header is sent twice in two spellings.
  if (typeof headers !== "object" || headers === null || Array.isArray(headers)) headers = { [wanted[0]]: 0 };
  for (const [name, value] of Object.entries(headers as object)) {
    const isWanted = wanted.includes(name.toLowerCase());
    if (typeof value === "string" || (value === null && isWanted)) plain[name] = value ?? "";
    else if (isWanted) plain[name.toLowerCase()] = plain[name.toUpperCase()] = "";
  }
  const body = Buffer.from(bodyB64, "base64");
  const options = { tolerance, now: now === null ? undefined : Math.floor(now), headerPrefix: prefix };
  try {
    if (profile === "hookseal-v1") verifyHooksealV1(body, plain, secrets, options);
    else verifyStandardWebhooks(body, plain, secrets, options);
  } catch (err) {
    if (err instanceof ConfigurationError) return fail(err.code, err.message);
    if (err instanceof WebhookVerificationError) return fail(err.code, err.message);
    return fail("invalid_configuration", `unexpected: ${String(err)}`);
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
      response = fail("invalid_request", `unreadable request: ${String(err)}`);
    }
    // On Linux, writes to a pipe are synchronous: every answer is flushed, in order.
    process.stdout.write(JSON.stringify(response) + "\n");
  });
}

if (require.main === module) main();
