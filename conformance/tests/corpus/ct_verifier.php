<?php
// A minimal hookseal-v1 verifier adapter in PHP, to prove the constant-time source check.
// The test derives a copy that compares with === instead of hash_equals.
function answer(array $req): array {
    if (($req['profile'] ?? '') !== 'hookseal-v1') return ['ok' => false, 'error' => 'unsupported_profile'];
    $secrets = $req['secrets'] ?? [];
    // No v1a here: a whpk_ key answers invalid_configuration, its declaration (contract 5.1).
    $publicKeys = array_filter($secrets, fn($s) => is_string($s) && str_starts_with($s, 'whpk_'));
    if (!$secrets || in_array('', $secrets, true) || in_array('whsec_', $secrets, true) || $publicKeys) {
        return ['ok' => false, 'error' => 'invalid_configuration'];
    }
    $name = strtolower(($req['header_prefix'] ?? 'Hookseal') . '-Signature');
    $value = '';
    foreach (($req['headers'] ?? []) as $k => $v) if (strtolower($k) === $name) $value = $v;
    if ($value === '') return ['ok' => false, 'error' => 'missing_header'];
    $t = null;
    $sigs = [];
    foreach (explode(',', $value) as $el) {
        $parts = explode('=', $el, 2);
        if (count($parts) < 2) continue;
        if ($parts[0] === 't') $t = $parts[1];
        if ($parts[0] === 'v1') $sigs[] = $parts[1];
    }
    if ($t === null || !preg_match('/\A[0-9]{1,18}\z/', $t) || !$sigs) return ['ok' => false, 'error' => 'malformed_header'];
    if ($req['now'] - (int)$t > $req['tolerance']) return ['ok' => false, 'error' => 'timestamp_too_old'];
    if ((int)$t - $req['now'] > $req['tolerance']) return ['ok' => false, 'error' => 'timestamp_in_future'];
    $body = base64_decode($req['body_b64'] ?? '', true);
    foreach ($secrets as $secret) {
        $expected = hash_hmac('sha256', $t . '.' . $body, $secret);
        foreach ($sigs as $sig) {
            if (hash_equals($expected, $sig)) return ['ok' => true];
        }
    }
    return ['ok' => false, 'error' => 'signature_mismatch'];
}

while (($line = fgets(STDIN)) !== false) {
    echo json_encode(answer(json_decode($line, true))), "\n";
    fflush(STDOUT);
}
