<?php
// Native test of the PHP snippet (a plain runner: exits non-zero on any failure). Every case
// of the shared vectors file (sdk/vectors/vectors.json, or $HOOKSEAL_VECTORS) goes through
// the adapter's request handling, plus the API a customer uses. A missing vectors file fails.
declare(strict_types=1);

require __DIR__ . '/../adapter'; // defines hookseal_answer() without serving stdin

$failures = 0;
function check(bool $ok, string $what): void
{
    global $failures;
    if (!$ok) {
        $failures++;
        fwrite(STDERR, "FAIL: $what\n");
    }
}

/** @return string the error code a call throws, or "ok" */
function outcome(callable $verify): string
{
    try {
        $verify();
        return 'ok';
    } catch (Hookseal\WebhookVerificationException $e) {
        return $e->errorCode;
    } catch (Hookseal\ConfigurationException $e) {
        return $e->errorCode;
    }
}

$path = getenv('HOOKSEAL_VECTORS') ?: __DIR__ . '/../../../vectors/vectors.json';
$text = @file_get_contents($path);
check($text !== false, "the shared vectors file is required: $path");
$cases = [];
foreach (json_decode($text ?: '{"testGroups":[]}', false, 512, JSON_THROW_ON_ERROR)->testGroups as $group) {
    array_push($cases, ...$group->tests);
}
check(count($cases) > 0, 'the vectors file has cases');
$validEd25519 = 0;
foreach ($cases as $case) {
    $got = hookseal_answer($case->request);
    $want = $case->expected;
    $same = $got['ok'] === $want->ok && ($got['ok'] || $got['error'] === $want->error);
    check($same, "tcId $case->tcId ($case->comment): got " . json_encode($got));
    $validEd25519 += (int) ($same && $want->ok && in_array('ed25519', $case->flags, true));
}
check($validEd25519 > 0, 'sodium verified at least one valid v1a vector');

// The API a customer uses: the clock, several secrets, raw body, sodium-made v1a.
$secret = 'whsec_' . base64_encode(str_repeat("\x07", 32));
$body = '{"id":"evt_1","type":"invoice.paid"}';
$sign = fn (int $ts, string ...$secrets): array => ['Hookseal-Signature' => implode(',', array_merge(
    ["t=$ts"], array_map(fn ($s) => 'v1=' . hash_hmac('sha256', "$ts.$body", $s), $secrets)))];
check(outcome(fn () => Hookseal\verify_hookseal_v1($body, $sign(time(), $secret), $secret)) === 'ok', 'system clock');
check(outcome(fn () => Hookseal\verify_hookseal_v1($body, $sign(1000, $secret), $secret)) === 'timestamp_too_old', 'old');
check(outcome(fn () => Hookseal\verify_hookseal_v1($body, $sign(1000, $secret), $secret, now: 1100)) === 'ok', 'set clock');
$other = 'whsec_' . base64_encode(str_repeat("\x09", 32));
check(outcome(fn () => Hookseal\verify_hookseal_v1($body, $sign(5, $other), [$secret, $other], now: 5)) === 'ok', 'rotation');
check(outcome(fn () => Hookseal\verify_hookseal_v1($body, [], [], now: 5)) === 'invalid_configuration', 'no secrets');
$reencoded = json_encode(json_decode($body), JSON_PRETTY_PRINT);
check(outcome(fn () => Hookseal\verify_hookseal_v1($reencoded, $sign(5, $secret), $secret, now: 5)) === 'signature_mismatch', 're-encoded body');
$pair = sodium_crypto_sign_keypair();
$whpk = 'whpk_' . base64_encode(sodium_crypto_sign_publickey($pair));
$v1a = base64_encode(sodium_crypto_sign_detached("msg_1.7.$body", sodium_crypto_sign_secretkey($pair)));
$headers = ['webhook-id' => 'msg_1', 'webhook-timestamp' => '7', 'webhook-signature' => "v1a,$v1a"];
check(outcome(fn () => Hookseal\verify_standard_webhooks($body, $headers, $whpk, now: 7)) === 'ok', 'sodium v1a');
// A batch verifies like any body, then parse_events gives its events in order.
$batch = '[{"id":"evt_1","type":"invoice.paid"},{"id":"evt_2","type":"invoice.paid"}]';
$sig = base64_encode(hash_hmac('sha256', "bat_1.9.$batch", base64_decode(substr($secret, 6)), true));
$headers = ['webhook-id' => 'bat_1', 'webhook-timestamp' => '9', 'webhook-signature' => "v1,$sig"];
check(outcome(fn () => Hookseal\verify_standard_webhooks($batch, $headers, $secret, now: 9)) === 'ok', 'batch verifies');
check(array_column(Hookseal\parse_events($batch), 'id') === ['evt_1', 'evt_2'], 'batch events in order');
check(Hookseal\parse_events($body) === [json_decode($body, true)], 'one event is a one-element list');
check(Hookseal\parse_events('[]') === [], 'an empty batch');
foreach (['[{"id":"evt_1"},2]', '"x"', 'null', 'not json', '[[1]]', '[{}, []]', str_repeat('[', 1000)] as $bad) {
    check(outcome(fn () => Hookseal\parse_events($bad)) === 'invalid_payload', "invalid payload $bad");
}
foreach (['null', '[]', '{"secrets":[1]}', '{"profile":"x"}', '{"headers":{"webhook-id":1},"profile":"standard-webhooks","secrets":["x"]}'] as $line) {
    check(hookseal_answer(json_decode($line, false))['ok'] === false, "garbage $line");
}

$total = count($cases);
echo $failures === 0 ? "OK: $total vectors and the API checks pass\n" : "$failures failure(s)\n";
exit($failures === 0 ? 0 : 1);
