package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// Senders write compact JSON whose key order encoding/json would not keep.
const body = `{"type":"invoice.paid","id":"evt_1","data":{"amount":1000}}`

func post(t *testing.T, handler http.Handler, payload string) (int, string) {
	t.Helper()
	server := httptest.NewServer(handler)
	defer server.Close()
	ts := time.Now().Unix()
	mac := hmac.New(sha256.New, []byte("whsec_test"))
	fmt.Fprintf(mac, "%d.%s", ts, body)
	request, _ := http.NewRequest(http.MethodPost, server.URL, strings.NewReader(payload))
	request.Header.Set("Hookseal-Signature", fmt.Sprintf("t=%d,v1=%s", ts, hex.EncodeToString(mac.Sum(nil))))
	response, err := http.DefaultClient.Do(request)
	if err != nil {
		t.Fatal(err)
	}
	defer response.Body.Close()
	text, _ := io.ReadAll(response.Body)
	return response.StatusCode, strings.TrimSpace(string(text))
}

func TestRawBodyIsAcceptedAndReencodedIsRejected(t *testing.T) {
	secrets := []string{"whsec_test"}
	if status, text := post(t, Webhooks(secrets), body); status != 200 || text != "got invoice.paid" {
		t.Fatalf("right handler: %d %q", status, text)
	}
	if status, text := post(t, WebhooksWrong(secrets), body); status != 400 || text != "signature_mismatch" {
		t.Fatalf("wrong handler: %d %q", status, text)
	}
	if status, text := post(t, Webhooks(secrets), strings.Replace(body, "1000", "9000", 1)); status != 400 || text != "signature_mismatch" {
		t.Fatalf("tampered body: %d %q", status, text)
	}
}
