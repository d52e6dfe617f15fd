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
