<?php
// Plain PHP: verify php://input (the raw body) before json_decode.
// Put hookseal_verify.php next to this file.
declare(strict_types=1);

require __DIR__ . '/../hookseal_verify.php';

$body = file_get_contents('php://input'); // RIGHT: the exact bytes that were signed
try {
    // getallheaders() keeps the real header names; the verifier matches them case-insensitively.
    Hookseal\verify_hookseal_v1((string) $body, getallheaders(), explode(',', (string) getenv('HOOKSEAL_SECRETS')));
} catch (Hookseal\WebhookVerificationException $e) {
    http_response_code(400);
    exit($e->errorCode);
}
$event = json_decode((string) $body, true, 512, JSON_THROW_ON_ERROR); // only now is the body trusted
echo 'got ' . $event['type'];

// WRONG, do not copy: json_encode(json_decode($body)) is not the body that was signed
// (PHP escapes "/" and unicode, drops spacing, turns {} into []), so genuine deliveries fail:
//   Hookseal\verify_hookseal_v1(json_encode(json_decode($body, true)), getallheaders(), $secrets);
