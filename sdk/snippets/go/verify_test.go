package hookseal

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"
)

var (
	secret = "whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 32))
	body   = []byte(`{"id":"evt_1","type":"invoice.paid"}`)
)

func signature(ts int64, secrets ...string) http.Header {
	value := fmt.Sprint("t=", ts)
	for _, s := range secrets {
		mac := hmac.New(sha256.New, []byte(s))
		fmt.Fprintf(mac, "%d.%s", ts, body)
		value += ",v1=" + hex.EncodeToString(mac.Sum(nil))
	}
	return http.Header{"Hookseal-Signature": {value}}
}

func code(err error) string {
	var failed *VerificationError
	if errors.As(err, &failed) {
		return failed.Code
	}
	var misconfigured *ConfigurationError
	if errors.As(err, &misconfigured) {
		return "invalid_configuration"
	}
	return fmt.Sprint(err)
}

func TestClockIsSettableAndDefaultsToSystemClock(t *testing.T) {
	if err := VerifyHooksealV1(body, signature(time.Now().Unix(), secret), []string{secret}); err != nil {
		t.Fatal(err)
	}
	if got := code(VerifyHooksealV1(body, signature(1000, secret), []string{secret})); got != "timestamp_too_old" {
		t.Fatal(got)
	}
	clock := WithClock(func() time.Time { return time.Unix(1100, 0) })
	if err := VerifyHooksealV1(body, signature(1000, secret), []string{secret}, clock); err != nil {
		t.Fatal(err)
	}
	if got := code(VerifyHooksealV1(body, signature(1000, secret), []string{secret}, clock, WithTolerance(time.Minute))); got != "timestamp_too_old" {
		t.Fatal(got)
	}
}

func TestSeveralSecretsAndNone(t *testing.T) {
	other := "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	clock := WithClock(func() time.Time { return time.Unix(5, 0) })
	if err := VerifyHooksealV1(body, signature(5, other), []string{secret, other}, clock); err != nil {
		t.Fatal(err)
	}
	if got := code(VerifyHooksealV1(body, signature(5, other), nil, clock)); got != "invalid_configuration" {
		t.Fatal(got)
	}
}

// A batch verifies like any body, then ParseEvents gives its events in order.
func TestBatchVerifiesThenParses(t *testing.T) {
	batch := []byte(`[{"id":"evt_1","type":"invoice.paid"},{"id":"evt_2","type":"invoice.paid"}]`)
	key, _ := base64.StdEncoding.DecodeString(secret[6:])
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "bat_1.9.%s", batch)
	header := http.Header{}
	header.Set("webhook-id", "bat_1")
	header.Set("webhook-timestamp", "9")
	header.Set("webhook-signature", "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	clock := WithClock(func() time.Time { return time.Unix(9, 0) })
	if err := VerifyStandardWebhooks(batch, header, []string{secret}, clock); err != nil {
		t.Fatal(err)
	}
	events, err := ParseEvents(batch)
	if err != nil || len(events) != 2 || events[0]["id"] != "evt_1" || events[1]["id"] != "evt_2" {
		t.Fatal(events, err)
	}
	single, err := ParseEvents(body)
	if err != nil || len(single) != 1 || single[0]["id"] != "evt_1" {
		t.Fatal(single, err)
	}
	if empty, err := ParseEvents([]byte("[]")); err != nil || len(empty) != 0 {
		t.Fatal(empty, err)
	}
	for _, bad := range []string{`[{"id":"evt_1"},2]`, `"x"`, "null", "not json", "[[1]]", `{} {}`} {
		if _, err := ParseEvents([]byte(bad)); code(err) != "invalid_payload" {
			t.Fatal(bad, err)
		}
	}
}

// A v1a signature made by Go's crypto/ed25519 verifies in both profiles.
func TestEd25519BothProfiles(t *testing.T) {
	public, private, _ := ed25519.GenerateKey(rand.Reader)
	whpk := []string{"whpk_" + base64.StdEncoding.EncodeToString(public)}
	clock := WithClock(func() time.Time { return time.Unix(7, 0) })
	sig := base64.StdEncoding.EncodeToString(ed25519.Sign(private, append([]byte("7."), body...)))
	if err := VerifyHooksealV1(body, http.Header{"Hookseal-Signature": {"t=7,v1a=" + sig}}, whpk, clock); err != nil {
		t.Fatal(err)
	}
	sig = base64.StdEncoding.EncodeToString(ed25519.Sign(private, append([]byte("msg_1.7."), body...)))
	header := http.Header{"Webhook-Id": {"msg_1"}, "Webhook-Timestamp": {"7"}, "Webhook-Signature": {"v1a," + sig}}
	if err := VerifyStandardWebhooks(body, header, whpk, clock); err != nil {
		t.Fatal(err)
	}
	if got := code(VerifyStandardWebhooks([]byte("{}"), header, whpk, clock)); got != "signature_mismatch" {
		t.Fatal(got)
	}
}
