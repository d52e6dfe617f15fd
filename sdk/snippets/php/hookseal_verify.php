<?php
// Verify Hookseal webhooks in PHP with nothing but built-in functions (hash_hmac,
// hash_equals, and sodium for Ed25519 `whpk_` keys / `v1a` signatures).
// Copy this file into your project. Usage:
//
//   try {
//       Hookseal\verify_hookseal_v1(file_get_contents('php://input'), getallheaders(), getenv('HOOKSEAL_SECRET'));
//   } catch (Hookseal\WebhookVerificationException $e) {
//       http_response_code(400); exit($e->errorCode);
//   }
//   foreach (Hookseal\parse_events($body) as $event) { handle($event); } // a batch or one event

// --8<-- [start:verify]
declare(strict_types=1);

namespace Hookseal;

const TOLERANCE = 300; // seconds a signed timestamp may differ from our clock, either way
const MAX_HEADER_BYTES = 8192; // bounded work: bigger signature headers are refused unparsed
const MAX_ELEMENTS = 32;
// \z, not $: in PCRE "$" also matches before a trailing newline.
const TIMESTAMP = '/\A[0-9]{1,18}\z/';
const BASE64 = '~\A[A-Za-z0-9+/]*={0,2}\z~';
const TOKEN = '/\A[A-Za-z0-9!#$%&\'*+.^_`|~-]+\z/'; // what may start an HTTP header name

/** The request is not a genuine, fresh delivery: answer 400 and drop it. */
final class WebhookVerificationException extends \RuntimeException
{
    /**
     * @param string $errorCode missing_header, malformed_header, timestamp_too_old,
     *                          timestamp_in_future or signature_mismatch (or, from
     *                          parse_events, invalid_payload)
     */
    public function __construct(public readonly string $errorCode, string $message)
    {
        parent::__construct($message);
    }
}

/** The secrets or options are wrong: a bug in your set-up, not a bad request. */
final class ConfigurationException extends \InvalidArgumentException
{
    public string $errorCode = 'invalid_configuration';
}

// --8<-- [start:hookseal-v1]
/**
 * Verify a hookseal-v1 delivery (Hookseal-Signature: t=<ts>,v1=<hex>).
 *
 * @param string $body the raw request body exactly as received (php://input), never re-encoded JSON
 * @param array<string, string|string[]> $headers getallheaders() or $request->headers->all()
 * @param string|string[] $secrets your whsec_ secret, several while you rotate, or whpk_ Ed25519 keys
 * @param int|null $now the current Unix time; defaults to the system clock (set it in tests)
 * @throws WebhookVerificationException when the request must be rejected (see ->errorCode)
 * @throws ConfigurationException for no secrets, an empty one or a bad option
 */
function verify_hookseal_v1(
    string $body,
    array $headers,
    string|array $secrets,
    int $tolerance = TOLERANCE,
    ?int $now = null,
    string $headerPrefix = 'Hookseal',
): void
{
    [$hmacKeys, $publicKeys] = parse_keys($secrets, $tolerance, false);
    if (!preg_match(TOKEN, $headerPrefix)) {
        throw new ConfigurationException('the header prefix must be a header name token');
    }
    $timestamps = $v1 = $v1a = [];
    foreach (split_header(find_header($headers, "$headerPrefix-Signature"), ',') as $element) {
        // Each element splits at its first "=", no trimming; unknown keys are ignored.
        [$key, $value] = explode('=', $element, 2) + [1 => ''];
        match ($key) {
            't' => $timestamps[] = $value,
            'v1' => $v1[] = $value,
            'v1a' => $v1a[] = $value,
            default => null,
        };
    }
    if (count($timestamps) !== 1) {
        fail('malformed_header', 'need exactly one t= element');
    }
    check_kinds($hmacKeys, $v1, $publicKeys, $v1a);
    check_timestamp($timestamps[0], $tolerance, $now);

    $signed = $timestamps[0] . '.' . $body; // the timestamp text exactly as received
    foreach ($hmacKeys as $key) {
        // hash_hmac's hex is lowercase, so uppercase hex never matches, as the contract says.
        $expected = hash_hmac('sha256', $signed, $key);
        foreach ($v1 as $value) {
            if (hash_equals($expected, $value)) {
                return;
            }
        }
    }
    if (any_ed25519($publicKeys, $v1a, $signed)) {
        return;
    }
    fail('signature_mismatch', 'no signature matches');
}
// --8<-- [end:hookseal-v1]

// --8<-- [start:standard-webhooks]
/**
 * Verify a Standard Webhooks delivery (webhook-id, webhook-timestamp, webhook-signature).
 * Same inputs and errors as verify_hookseal_v1; a secret is base64 of at least one byte
 * (padded or not), with or without the whsec_ prefix.
 *
 * @param array<string, string|string[]> $headers
 * @param string|string[] $secrets
 */
function verify_standard_webhooks(
    string $body,
    array $headers,
    string|array $secrets,
    int $tolerance = TOLERANCE,
    ?int $now = null,
): void
{
    [$hmacKeys, $publicKeys] = parse_keys($secrets, $tolerance, true);
    $id = find_header($headers, 'webhook-id');
    $timestamp = find_header($headers, 'webhook-timestamp');
    $v1 = $v1a = [];
    foreach (split_header(find_header($headers, 'webhook-signature'), ' ') as $entry) {
        $parts = explode(',', $entry, 2);
        if (count($parts) !== 2) {
            fail('malformed_header', 'an entry has no comma');
        }
        match ($parts[0]) {
            'v1' => $v1[] = $parts[1],
            'v1a' => $v1a[] = $parts[1],
            default => null,
        };
    }
    check_kinds($hmacKeys, $v1, $publicKeys, $v1a);
    check_timestamp($timestamp, $tolerance, $now);

    $signed = "$id.$timestamp.$body";
    foreach ($hmacKeys as $key) {
        $expected = hash_hmac('sha256', $signed, $key, true);
        foreach ($v1 as $value) {
            $received = strict_base64($value, 32); // anything else matches nothing
            if ($received !== null && hash_equals($expected, $received)) {
                return;
            }
        }
    }
    if (any_ed25519($publicKeys, $v1a, $signed)) {
        return;
    }
    fail('signature_mismatch', 'no signature matches');
}
// --8<-- [end:standard-webhooks]

// --8<-- [start:batches]
/**
 * The events of a VERIFIED body: a batch (a JSON array of events) or one event, as a list
 * of associative arrays in the sender's order. Call it only after verify_* accepted $body,
 * and deduplicate by each event's 'id'.
 *
 * @return list<array<string, mixed>>
 * @throws WebhookVerificationException with errorCode invalid_payload (not JSON, or not an
 *                                      object or an array of objects)
 */
function parse_events(string $body): array
{
    try {
        // Objects as stdClass first: an associative decode cannot tell {} from [].
        $parsed = json_decode($body, false, 512, JSON_THROW_ON_ERROR);
    } catch (\JsonException) {
        fail('invalid_payload', 'the body is not JSON');
    }
    $items = is_array($parsed) ? $parsed : [$parsed];
    foreach ($items as $item) {
        if (!$item instanceof \stdClass) {
            fail('invalid_payload', 'the body is not an event or an array of events');
        }
    }
    $events = json_decode($body, true, 512, JSON_THROW_ON_ERROR);
    return is_array($parsed) ? $events : [$events];
}
// --8<-- [end:batches]

/**
 * @param string|array<mixed> $secrets
 * @return array{0: string[], 1: string[]} HMAC keys and raw Ed25519 public keys
 */
function parse_keys(string|array $secrets, int $tolerance, bool $standard): array
{
    $secrets = is_string($secrets) ? [$secrets] : $secrets;
    if ($secrets === [] || $tolerance < 0) {
        throw new ConfigurationException('need at least one secret and a tolerance >= 0');
    }
    $hmacKeys = $publicKeys = [];
    foreach ($secrets as $secret) {
        if (!is_string($secret) || $secret === '' || $secret === 'whsec_') {
            throw new ConfigurationException('a secret must be a non-empty string');
        }
        if (str_starts_with($secret, 'whpk_')) {
            $publicKeys[] = lenient_base64(substr($secret, 5), 32);
        } elseif (str_starts_with($secret, 'whsk_')) {
            throw new ConfigurationException("whsk_ is the sender's private key: use its whpk_ key");
        } elseif ($standard) {
            // Standard Webhooks keys are the base64-decoded bytes after "whsec_", of any
            // length (the specification's own libraries verify with short keys too).
            $encoded = str_starts_with($secret, 'whsec_') ? substr($secret, 6) : $secret;
            $hmacKeys[] = lenient_base64($encoded);
        } else {
            // hookseal-v1 (like Stripe) keys HMAC with the whole string, prefix included.
            $hmacKeys[] = $secret;
        }
    }
    if ($publicKeys !== [] && !function_exists('sodium_crypto_sign_verify_detached')) {
        throw new ConfigurationException('whpk_ keys need the sodium extension');
    }
    return [$hmacKeys, $publicKeys];
}

/** @param array<mixed> $headers */
function find_header(array $headers, string $name): string
{
    $found = null;
    foreach ($headers as $key => $value) {
        if (strtolower((string) $key) !== strtolower($name)) {
            continue;
        }
        // Two spellings of one name (or a repeated header) could hide which one was signed.
        if ($found !== null || (is_array($value) && count($value) > 1)) {
            fail('malformed_header', "$name appears twice");
        }
        $found = is_array($value) ? (string) reset($value) : (string) $value;
    }
    if ($found === null || $found === '') {
        fail('missing_header', "$name is missing");
    }
    return $found;
}

/** @return string[] */
function split_header(string $header, string $separator): array
{
    // Bounded work: never parse (or let a sender make us hash for) a huge header.
    $parts = explode($separator, $header, MAX_ELEMENTS + 1);
    if (strlen($header) > MAX_HEADER_BYTES || count($parts) > MAX_ELEMENTS) {
        fail('malformed_header', 'signature header too large');
    }
    return $parts;
}

function check_timestamp(string $text, int $tolerance, ?int $now): void
{
    if (!preg_match(TIMESTAMP, $text)) {
        fail('malformed_header', 'timestamp is not 1-18 digits');
    }
    $now ??= time();
    if ($now - (int) $text > $tolerance) {
        fail('timestamp_too_old', 'timestamp too old');
    }
    if ((int) $text - $now > $tolerance) {
        fail('timestamp_in_future', 'timestamp in the future');
    }
}

/**
 * @param string[] $hmacKeys
 * @param string[] $v1
 * @param string[] $publicKeys
 * @param string[] $v1a
 */
function check_kinds(array $hmacKeys, array $v1, array $publicKeys, array $v1a): void
{
    if (!($hmacKeys && $v1) && !($publicKeys && $v1a)) {
        fail('malformed_header', 'no signature we hold a key for');
    }
}

/** Decode padded standard base64 of exactly $size bytes, or return null. */
function strict_base64(string $text, int $size): ?string
{
    $raw = preg_match(BASE64, $text) ? base64_decode($text, true) : false;
    // base64_decode is lenient even in strict mode; re-encoding rejects other spellings.
    return $raw !== false && strlen($raw) === $size && base64_encode($raw) === $text ? $raw : null;
}

/** Decode a configured key: standard base64, padded or not, of $size bytes (or any). */
function lenient_base64(string $text, ?int $size = null): string
{
    $padded = $text . str_repeat('=', (4 - strlen($text) % 4) % 4);
    $raw = strlen($text) % 4 !== 1 && preg_match(BASE64, $padded) ? base64_decode($padded, true) : false;
    if ($raw === false || $raw === '') {
        throw new ConfigurationException('a key is not valid base64');
    }
    if ($size !== null && strlen($raw) !== $size) {
        throw new ConfigurationException("a key must decode to $size bytes");
    }
    return $raw;
}

/**
 * @param string[] $publicKeys
 * @param string[] $v1a
 */
function any_ed25519(array $publicKeys, array $v1a, string $signed): bool
{
    foreach ($v1a as $value) {
        $signature = strict_base64($value, 64);
        if ($signature === null) {
            continue; // not a signature at all: it matches nothing
        }
        foreach ($publicKeys as $key) {
            if (sodium_crypto_sign_verify_detached($signature, $signed, $key)) {
                return true;
            }
        }
    }
    return false;
}

function fail(string $code, string $message): never
{
    throw new WebhookVerificationException($code, $message);
}
// --8<-- [end:verify]
