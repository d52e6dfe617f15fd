<?php
// Laravel: verify $request->getContent() (the raw body) before $request->json() or input().
// Put hookseal_verify.php where Composer autoloads "files" (e.g. app/Support/).
declare(strict_types=1);

namespace App\Http\Controllers;

use Hookseal\WebhookVerificationException;
use Illuminate\Http\Request;
use Illuminate\Http\Response;

use function Hookseal\verify_hookseal_v1;

final class WebhookController
{
    /** RIGHT: getContent() is the exact bytes that were signed. Exclude this route from CSRF. */
    // --8<-- [start:call]
    public function store(Request $request): Response
    {
        try {
            // headers->all() maps each lower-case name to a list of values; one value is expected.
            verify_hookseal_v1($request->getContent(), $request->headers->all(), config('services.hookseal.secrets'));
        } catch (WebhookVerificationException $e) {
            return response($e->errorCode, 400);
        }
        $event = json_decode($request->getContent(), true, 512, JSON_THROW_ON_ERROR);
        dispatch(new \App\Jobs\HandleWebhook($event));
        return response('', 200);
    }
    // --8<-- [end:call]

    /** WRONG, do not copy: $request->all() is parsed input, and json_encode is not the signed body. */
    public function storeWrong(Request $request): Response
    {
        try {
            verify_hookseal_v1((string) json_encode($request->all()), $request->headers->all(), config('services.hookseal.secrets'));
        } catch (WebhookVerificationException $e) {
            return response($e->errorCode, 400);
        }
        return response('', 200);
    }
}
