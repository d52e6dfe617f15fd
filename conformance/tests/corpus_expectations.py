"""What each corpus bug must be caught by (any one of the named properties failing)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

V1, SW = "hookseal-v1", "standard-webhooks"
CONSTANT_TIME = {"test_signatures_compared_in_constant_time"}

# bug -> (profile it is checked in, properties any of which must fail)
VERIFIER_BUGS: dict[str, tuple[str, set[str]]] = {
    "no_tolerance": (V1, {"test_rejects_stale_timestamp", "test_rejects_future_timestamp"}),
    "past_only_tolerance": (V1, {"test_rejects_future_timestamp"}),
    "eq_compare": (V1, CONSTANT_TIME),
    "early_exit_compare": (V1, CONSTANT_TIME),
    "first_signature_only": (V1, {"test_accepts_second_signature"}),
    "first_secret_only": (V1, {"test_accepts_second_receiver_secret"}),
    "timestamp_not_signed": (V1, {"test_accepts_valid_deliveries"}),
    "reserialized_body": (V1, {"test_accepts_json_bodies_verbatim"}),
    "truncated_accepted": (V1, {"test_rejects_truncated_signature"}),
    "missing_header_accepted": (V1, {"test_rejects_missing_header"}),
    "crash_on_malformed": (SW, {"test_rejects_malformed_signature_header"}),
    "int_timestamp": (V1, {"test_rejects_changed_timestamp"}),
    "lenient_timestamp": (V1, {"test_rejects_malformed_timestamp"}),
    "uppercase_hex_accepted": (V1, {"test_rejects_non_canonical_signature_encoding"}),
    "future_as_stale": (V1, {"test_rejects_future_timestamp"}),
    "hangs_on_huge_header": (V1, {"test_oversized_headers_are_bounded"}),
    "stdout_chatter": (V1, {"test_answers_in_order"}),
    "duplicate_header_merged": (V1, {"test_rejects_duplicate_header_names"}),
    "ms_timestamps": (V1, {"test_rejects_timestamps_in_smaller_units"}),
    "loose_keys": (V1, {"test_rejects_malformed_signature_header", "test_vector"}),
    # Broken v1a verifiers, caught by a default run (no --require-ed25519): only an
    # invalid_configuration answer to a whpk_ key declares "no v1a" (contract 5.1).
    "v1a_undeclared": (V1, {"test_v1a_accepts_valid_deliveries", "test_vector"}),
    "v1a_wrong_content": (SW, {"test_v1a_accepts_valid_deliveries"}),
    "v1a_first_key_only": (SW, {"test_v1a_accepts_any_of_several_public_keys"}),
    "v1a_skips_bad_key": (V1, {"test_v1a_refuses_a_public_key_that_does_not_load"}),
    "v1a_ignores_v1": (SW, {"test_v1a_mixed_receiver_accepts_v1_beside_a_foreign_v1a"}),
    "v1a_first_signature_only": (V1, {"test_v1a_accepts_key_rotation_overlap"}),
    "v1a_public_key_as_hmac": (V1, {"test_v1a_public_key_never_checks_v1"}),
    "v1a_lenient_value": (SW, {"test_v1a_value_must_be_canonical_base64_of_64_bytes"}),
}

SENDER_BUGS: dict[str, set[str]] = {
    "retries_4xx": {"test_never_retries_permanent_failures"},
    "ignores_retry_after": {"test_honours_retry_after"},
    "reuses_timestamp": {"test_retry_timestamps_are_fresh"},
    "new_delivery_id_on_retry": {"test_retries_transient_status"},
    "new_secret_only_in_overlap": {"test_rotation_overlap"},
    "follows_redirects": {"test_never_follows_redirects"},
    "no_timeout": {"test_retries_timeouts"},
    "allows_loopback": {"test_refuses_loopback_without_allow_local"},
    "no_payload_validation": {"test_rejects_invalid_payload"},
    "retry_after_uncapped": {"test_caps_retry_after"},
    "ssrf_loopback_only": {"test_refuses_internal_destinations"},
    "next_step_delay": {"test_respects_schedule_and_cap"},
    "retries_408": {"test_never_retries_permanent_failures"},
    "per_read_timeout": {"test_timeout_bounds_the_whole_attempt"},
    "old_signature_dropped_early": {"test_rotation_overlap"},
    "sw_signatures_comma_joined": {"test_rotation_overlap"},
    "ssrf_no_dns": {"test_refuses_names_resolving_to_internal_addresses"},
    "attempt_time_is_enqueue_time": {"test_respects_schedule_and_cap"},
    "crashes_on_bad_request": {"test_answers_malformed_requests_with_invalid_request"},
    "delivers_unsubscribed": {"test_event_type_filter"},
    "event_types_first_only": {"test_event_type_filter"},
    "delivers_in_send": {"test_send_does_not_wait_for_the_endpoint"},
    "no_retry_on_dropped_connection": {"test_retries_dropped_connections"},
    "unknown_op_invalid_request": {"test_hello_and_unknown_op"},
    "hello_without_version": {"test_hello_and_unknown_op"},
    "ignores_header_prefix": {"test_profiles_and_prefix"},
    "both_signs_v1a_only": {"test_ed25519_signing"},
    "rotation_default_no_overlap": {"test_rotation_default_overlap"},
    "response_body_whole": {"test_attempts_record_the_response"},
}

# The optional-feature properties that deliver requests (each to endpoints of every profile
# and signing mode).
FEATURES_DELIVERING = {
    "test_filters_each_operator_at_its_bounds", "test_custom_headers_sent_on_every_attempt",
    "test_redaction_drops_fields_before_signing", "test_rate_limit_never_exceeded",
    "test_batches_size_and_wait_thresholds", "test_batches_max_bytes",
    "test_batches_retried_as_one", "test_batches_dead_lettered_as_one", "test_ordering_per_key",
    "test_ordering_continues_after_dead_letter", "test_versions_pinned_per_event_type",
    "test_auth_static_authorization", "test_auth_oauth_client_credentials",
    "test_auth_mtls_client_certificate", "test_proxy_connect",
    "test_traceparent_on_every_attempt", "test_idempotent_send"}

# Properties a full run of a broken sender may fail besides the one it is named for: those
# whose cases go through the same broken code (a sender signing wrongly in `both` mode fails
# every property that uses `both`). Any other failing property is a false alarm, or a bug
# that breaks more than its one rule, and fails the corpus test.
SENDER_BUGS_ALSO: dict[str, set[str]] = {
    # Loopback by an IPv4-mapped literal, or by a name resolving to it, is loopback too.
    "allows_loopback": {"test_refuses_internal_destinations",
                        "test_refuses_names_resolving_to_internal_addresses"},
    # It never resolves names, so names resolving to private addresses pass as well.
    "ssrf_loopback_only": {"test_refuses_names_resolving_to_internal_addresses"},
    # The retries in `both` mode are signed without v1 too, and so is every optional
    # feature's request to a `both` endpoint (each feature property takes every mode).
    "both_signs_v1a_only": {"test_retries_transient_status", "test_retry_timestamps_are_fresh",
                            "test_rotation_overlap", "test_rotation_default_overlap",
                            *FEATURES_DELIVERING},
    "ignores_retry_after": {"test_caps_retry_after"},
    # Every property that checks a retry's webhook id (or a batch's) sees the new one.
    "new_delivery_id_on_retry": {
        "test_retry_timestamps_are_fresh", "test_retries_timeouts",
        "test_respects_schedule_and_cap", "test_custom_headers_sent_on_every_attempt",
        "test_batches_retried_as_one", "test_batches_dead_lettered_as_one",
        "test_ordering_per_key", "test_ordering_continues_after_dead_letter",
        "test_auth_static_authorization", "test_auth_mtls_client_certificate",
        "test_proxy_connect", "test_traceparent_on_every_attempt"},
    # A rotation without an overlap asked for overlaps by default: the same broken signing.
    "new_secret_only_in_overlap": {"test_rotation_default_overlap"},
    "sw_signatures_comma_joined": {"test_rotation_default_overlap"},
    # An endpoint that never answers is also one that trickles.
    "no_timeout": {"test_timeout_bounds_the_whole_attempt"},
    # The ordering property's 400 is retried too.
    "retries_4xx": {"test_ordering_per_key"},
}

# Broken optional features (contract 4.2-4.6): each run is limited (-k) to the properties
# named, which keeps the corpus fast; the toy declares every feature in hello.
FEATURE_SENDER_BUGS: dict[str, set[str]] = {
    "filter_ignores_not": {"test_filters_each_operator_at_its_bounds"},
    "filter_gt_inclusive": {"test_filters_each_operator_at_its_bounds"},
    "invalid_filter_accepted": {"test_filters_invalid_refused_at_registration"},
    "reserved_header_allowed": {"test_custom_headers_refused"},
    "headers_unlimited": {"test_custom_headers_refused"},
    "redact_after_signing": {"test_redaction_drops_fields_before_signing"},
    "redact_required_allowed": {"test_redaction_of_required_field_refused"},
    "rate_limit_per_worker": {"test_rate_limit_never_exceeded"},
    "batch_id_per_attempt": {"test_batches_retried_as_one"},
    "batch_waits_for_max_wait": {"test_batches_size_and_wait_thresholds"},
    "batch_reversed": {"test_batches_size_and_wait_thresholds"},
    "ordering_overlaps": {"test_ordering_per_key"},
    "sequence_gaps": {"test_ordering_per_key"},
    "ordering_blocks_other_keys": {"test_ordering_per_key"},
    "pinned_version_ignored": {"test_versions_pinned_per_event_type"},
    "auth_first_attempt_only": {"test_auth_static_authorization"},
    "traceparent_reused_span": {"test_traceparent_on_every_attempt"},
    "idempotency_ignored": {"test_idempotent_send"},
    "oauth_no_refresh": {"test_auth_oauth_client_credentials"},
    "oauth_token_per_attempt": {"test_auth_oauth_client_credentials"},
    "mtls_expired_accepted": {"test_auth_mtls_client_certificate"},
    "proxy_ignored": {"test_proxy_connect"},
    "headers_first_attempt_only": {"test_custom_headers_sent_on_every_attempt"},
    "batch_ignores_max_bytes": {"test_batches_max_bytes"},
    "batch_max_events_unbounded": {"test_batches_limits_refused"},
    "ordering_any_accepted": {"test_ordering_invalid_refused"},
    "pin_unchecked": {"test_versions_invalid_pin_refused"},
    "rate_limit_unchecked": {"test_rate_limit_invalid_refused"},
    "auth_value_unchecked": {"test_auth_invalid_refused"},
    # Every batch property sends to an ed25519 endpoint (the features take every mode).
    "batch_signed_hmac_only": {"test_batches_size_and_wait_thresholds", "test_batches_max_bytes",
                               "test_batches_retried_as_one"},
    "ordering_stalls_after_dead_letter": {"test_ordering_continues_after_dead_letter"},
    "batch_dead_letter_split": {"test_batches_dead_lettered_as_one"},
    "batch_default_events_50": {"test_batches_defaults"},
    "batch_default_wait_10": {"test_batches_defaults"},
    "batch_default_bytes_4mib": {"test_batches_defaults"},
}

# Minimal verifiers proving the constant-time probe: (runtime, script taking safe|eq).
CT_VERIFIERS = [("node", "ct_verifier.js"), ("ruby", "ct_verifier.rb")]

# Snippet directory name -> the runtime its adapter needs.
RUNTIMES = {"python": "python3", "typescript": "node", "node": "node", "go": "go",
            "php": "php", "ruby": "ruby"}


def snippet_adapters() -> list[tuple[str, Path]]:
    """Every ``sdk/snippets/*/adapter`` present, by snippet name."""
    return [(p.parent.name, p) for p in sorted((REPO / "sdk" / "snippets").glob("*/adapter"))]
