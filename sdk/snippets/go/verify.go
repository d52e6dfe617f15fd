// Package hookseal verifies Hookseal webhooks with nothing but Go's standard library.
//
// Copy this file into your project. Ed25519 (whpk_ keys, v1a signatures) is built in.
//
//	err := hookseal.VerifyHooksealV1(rawBody, r.Header, []string{os.Getenv("HOOKSEAL_SECRET")})
//	var bad *hookseal.VerificationError
//	if errors.As(err, &bad) {
//		http.Error(w, bad.Code, http.StatusBadRequest)
//		return
//	}
//	events, err := hookseal.ParseEvents(rawBody) // a batch or one event, once verified
package hookseal

// --8<-- [start:verify]
import (
	"bytes"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

const (
	// DefaultTolerance is how far a signed timestamp may be from our clock, either way.
	DefaultTolerance = 5 * time.Minute
	maxHeaderBytes   = 8192 // bounded work: bigger signature headers are refused unparsed
	maxElements      = 32
	tokenChars       = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+.^_`|~-"
)

// VerificationError means the request is not a genuine, fresh delivery: answer 400.
// Code is missing_header, malformed_header, timestamp_too_old, timestamp_in_future
// or signature_mismatch (or, from ParseEvents, invalid_payload).
type VerificationError struct{ Code, Message string }

func (e *VerificationError) Error() string { return e.Code + ": " + e.Message }

// ConfigurationError means the secrets or options are wrong: a bug in your set-up.
type ConfigurationError struct{ Message string }

func (e *ConfigurationError) Error() string { return "invalid_configuration: " + e.Message }

// Option changes a default: WithTolerance, WithClock, WithHeaderPrefix.
type Option func(*options)

type options struct {
	tolerance time.Duration
	now       func() time.Time
	prefix    string
}

// WithTolerance sets how far the signed timestamp may be off, either way (default 5 min).
func WithTolerance(d time.Duration) Option { return func(o *options) { o.tolerance = d } }

// WithClock replaces time.Now, e.g. in tests.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithHeaderPrefix renames the hookseal-v1 headers (default "Hookseal").
func WithHeaderPrefix(prefix string) Option { return func(o *options) { o.prefix = prefix } }

// --8<-- [start:hookseal-v1]

// VerifyHooksealV1 verifies a hookseal-v1 delivery (Hookseal-Signature: t=<ts>,v1=<hex>).
// body is the raw request body exactly as received, never re-serialized JSON; secrets is
// your whsec_ secret (several while you rotate) and/or whpk_ Ed25519 public keys.
// It returns nil, a *VerificationError or a *ConfigurationError.
func VerifyHooksealV1(body []byte, header http.Header, secrets []string, opts ...Option) error {
	o, hmacKeys, publicKeys, err := setup(secrets, opts, false)
	if err != nil {
		return err
	}
	if o.prefix == "" || strings.Trim(o.prefix, tokenChars) != "" {
		return &ConfigurationError{"the header prefix must be an HTTP header name token"}
	}
	value, err := find(header, o.prefix+"-Signature")
	if err != nil {
		return err
	}
	elements, err := split(value, ",")
	if err != nil {
		return err
	}
	var timestamps, v1, v1a []string
	for _, element := range elements {
		// Each element splits at its first "=", no trimming; unknown keys are ignored.
		key, val, _ := strings.Cut(element, "=")
		switch key {
		case "t":
			timestamps = append(timestamps, val)
		case "v1":
			v1 = append(v1, val)
		case "v1a":
			v1a = append(v1a, val)
		}
	}
	if len(timestamps) != 1 {
		return fail("malformed_header", "need exactly one t= element")
	}
	if err := checkKinds(hmacKeys, v1, publicKeys, v1a); err != nil {
		return err
	}
	if err := checkTimestamp(timestamps[0], o); err != nil {
		return err
	}

	signed := append([]byte(timestamps[0]+"."), body...) // the timestamp text as received
	for _, key := range hmacKeys {
		mac := hmac.New(sha256.New, key)
		mac.Write(signed)
		// EncodeToString is lowercase, so uppercase hex never matches, as the contract says.
		expected := []byte(hex.EncodeToString(mac.Sum(nil)))
		for _, sig := range v1 {
			if hmac.Equal(expected, []byte(sig)) {
				return nil
			}
		}
	}
	if anyEd25519(publicKeys, v1a, signed) {
		return nil
	}
	return fail("signature_mismatch", "no signature matches")
}

// --8<-- [end:hookseal-v1]

// --8<-- [start:standard-webhooks]

// VerifyStandardWebhooks verifies a Standard Webhooks delivery (webhook-id,
// webhook-timestamp, webhook-signature). Same inputs and errors as VerifyHooksealV1; a
// secret is base64 of at least one byte (padded or not), with or without the whsec_
// prefix.
func VerifyStandardWebhooks(body []byte, header http.Header, secrets []string, opts ...Option) error {
	o, hmacKeys, publicKeys, err := setup(secrets, opts, true)
	if err != nil {
		return err
	}
	var values [3]string
	for i, name := range []string{"webhook-id", "webhook-timestamp", "webhook-signature"} {
		if values[i], err = find(header, name); err != nil {
			return err
		}
	}
	id, timestamp := values[0], values[1]
	entries, err := split(values[2], " ")
	if err != nil {
		return err
	}
	var v1, v1a []string
	for _, entry := range entries {
		version, sig, ok := strings.Cut(entry, ",")
		if !ok {
			return fail("malformed_header", "an entry has no comma")
		}
		switch version {
		case "v1":
			v1 = append(v1, sig)
		case "v1a":
			v1a = append(v1a, sig)
		}
	}
	if err := checkKinds(hmacKeys, v1, publicKeys, v1a); err != nil {
		return err
	}
	if err := checkTimestamp(timestamp, o); err != nil {
		return err
	}

	signed := append([]byte(id+"."+timestamp+"."), body...)
	for _, key := range hmacKeys {
		mac := hmac.New(sha256.New, key)
		mac.Write(signed)
		expected := mac.Sum(nil)
		for _, sig := range v1 {
			received := strictBase64(sig, 32) // anything else matches nothing
			if received != nil && hmac.Equal(expected, received) {
				return nil
			}
		}
	}
	if anyEd25519(publicKeys, v1a, signed) {
		return nil
	}
	return fail("signature_mismatch", "no signature matches")
}

// --8<-- [end:standard-webhooks]

// --8<-- [start:batches]

// ParseEvents returns the events of a VERIFIED body: a batch (a JSON array of events) or
// one event, in the sender's order. Call it only after a Verify function accepted body,
// and deduplicate by each event's "id". Numbers are json.Number. The error is a
// *VerificationError with Code invalid_payload (not JSON, or not an object or an array
// of objects).
func ParseEvents(body []byte) ([]map[string]any, error) {
	decoder := json.NewDecoder(bytes.NewReader(body))
	decoder.UseNumber()
	var parsed any
	if err := decoder.Decode(&parsed); err != nil || decoder.More() {
		return nil, fail("invalid_payload", "the body is not JSON")
	}
	items, isBatch := parsed.([]any)
	if !isBatch {
		items = []any{parsed}
	}
	events := make([]map[string]any, 0, len(items))
	for _, item := range items {
		event, ok := item.(map[string]any)
		if !ok {
			return nil, fail("invalid_payload", "the body is not an event or an array of events")
		}
		events = append(events, event)
	}
	return events, nil
}

// --8<-- [end:batches]

func setup(secrets []string, opts []Option, standard bool) (
	o options, hmacKeys [][]byte, publicKeys []ed25519.PublicKey, err error,
) {
	o = options{tolerance: DefaultTolerance, now: time.Now, prefix: "Hookseal"}
	for _, opt := range opts {
		opt(&o)
	}
	if len(secrets) == 0 || o.tolerance < 0 || o.now == nil {
		return o, nil, nil, &ConfigurationError{"need at least one secret, a tolerance >= 0 and a clock"}
	}
	for _, secret := range secrets {
		switch {
		case secret == "" || secret == "whsec_":
			return o, nil, nil, &ConfigurationError{"a secret must not be empty"}
		case strings.HasPrefix(secret, "whpk_"):
			raw, err := lenientBase64(strings.TrimPrefix(secret, "whpk_"), 32)
			if err != nil {
				return o, nil, nil, err
			}
			publicKeys = append(publicKeys, ed25519.PublicKey(raw))
		case strings.HasPrefix(secret, "whsk_"):
			return o, nil, nil, &ConfigurationError{"whsk_ is the sender's private key: use its whpk_ key"}
		case standard:
			// Standard Webhooks keys are the base64-decoded bytes after "whsec_", of any
			// length (the specification's own libraries verify with short keys too).
			raw, err := lenientBase64(strings.TrimPrefix(secret, "whsec_"), 0)
			if err != nil {
				return o, nil, nil, err
			}
			hmacKeys = append(hmacKeys, raw)
		default:
			// hookseal-v1 (like Stripe) keys HMAC with the whole string, prefix included.
			hmacKeys = append(hmacKeys, []byte(secret))
		}
	}
	return o, hmacKeys, publicKeys, nil
}

// find looks a header up case-insensitively in the map itself: http.Header.Get would
// miss a non-canonical key and could not tell that a name is there twice.
func find(header http.Header, name string) (string, error) {
	var found []string
	seen := false
	for key, values := range header {
		if strings.EqualFold(key, name) && len(values) > 0 {
			if seen || len(values) > 1 { // two copies could hide which one was signed
				return "", fail("malformed_header", name+" appears twice")
			}
			found, seen = values, true
		}
	}
	if !seen || found[0] == "" {
		return "", fail("missing_header", name+" is missing")
	}
	return found[0], nil
}

func split(header, separator string) ([]string, error) {
	// Bounded work: never parse (or let a sender make us hash for) a huge header.
	parts := strings.SplitN(header, separator, maxElements+1)
	if len(header) > maxHeaderBytes || len(parts) > maxElements {
		return nil, fail("malformed_header", "signature header too large")
	}
	return parts, nil
}

func checkTimestamp(text string, o options) error {
	if len(text) < 1 || len(text) > 18 || strings.Trim(text, "0123456789") != "" {
		return fail("malformed_header", "timestamp is not 1-18 digits")
	}
	ts, _ := strconv.ParseInt(text, 10, 64) // 18 digits always fit in an int64
	now, tolerance := o.now().Unix(), int64(o.tolerance/time.Second)
	if now-ts > tolerance {
		return fail("timestamp_too_old", "timestamp too old")
	}
	if ts-now > tolerance {
		return fail("timestamp_in_future", "timestamp in the future")
	}
	return nil
}

func checkKinds(hmacKeys [][]byte, v1 []string, publicKeys []ed25519.PublicKey, v1a []string) error {
	if (len(hmacKeys) == 0 || len(v1) == 0) && (len(publicKeys) == 0 || len(v1a) == 0) {
		return fail("malformed_header", "no signature we hold a key for")
	}
	return nil
}

// strictBase64 decodes padded standard base64 of exactly size bytes, or returns nil.
func strictBase64(text string, size int) []byte {
	raw, err := base64.StdEncoding.DecodeString(text)
	// The decoder skips \r and \n; re-encoding rejects those and non-canonical spellings.
	if err != nil || len(raw) != size || base64.StdEncoding.EncodeToString(raw) != text {
		return nil
	}
	return raw
}

// lenientBase64 decodes a configured key: standard base64, padded or not, of exactly
// size bytes (any non-zero length when size is 0).
func lenientBase64(text string, size int) ([]byte, error) {
	padded := text + strings.Repeat("=", (4-len(text)%4)%4)
	unpadded := strings.TrimRight(padded, "=")
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	raw, err := base64.StdEncoding.DecodeString(padded)
	if err != nil || len(raw) == 0 || len(text)%4 == 1 || len(padded)-len(unpadded) > 2 ||
		strings.Trim(unpadded, alphabet) != "" {
		return nil, &ConfigurationError{"a key is not valid base64"}
	}
	if size != 0 && len(raw) != size {
		return nil, &ConfigurationError{fmt.Sprintf("a key must decode to %d bytes", size)}
	}
	return raw, nil
}

func anyEd25519(keys []ed25519.PublicKey, v1a []string, signed []byte) bool {
	for _, value := range v1a {
		if sig := strictBase64(value, 64); sig != nil {
			for _, key := range keys {
				if ed25519.Verify(key, signed, sig) {
					return true
				}
			}
		}
	}
	return false
}

func fail(code, message string) error { return &VerificationError{code, message} }

// --8<-- [end:verify]
