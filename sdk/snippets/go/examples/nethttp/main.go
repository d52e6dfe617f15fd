// Command nethttp shows the raw-body-correct way to verify Hookseal webhooks with net/http.
package main

import (
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"os"

	"hookseal.dev/snippet"
)

// maxBody bounds what we read: a webhook body is small, an attacker's need not be.
const maxBody = 1 << 20

// Webhooks is RIGHT: it reads the body bytes once, verifies them, then unmarshals them.
func Webhooks(secrets []string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		// --8<-- [start:call]
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		var bad *hookseal.VerificationError
		if err := hookseal.VerifyHooksealV1(body, r.Header, secrets); errors.As(err, &bad) {
			http.Error(w, bad.Code, http.StatusBadRequest)
			return
		} else if err != nil {
			http.Error(w, "misconfigured", http.StatusInternalServerError)
			return
		}
		// --8<-- [end:call]
		var event struct{ Type string }
		if err := json.Unmarshal(body, &event); err != nil {
			http.Error(w, "not JSON", http.StatusBadRequest)
			return
		}
		_, _ = io.WriteString(w, "got "+event.Type)
	}
}

// WebhooksWrong is WRONG, do not copy: it decodes the JSON and marshals it again, and
// encoding/json rewrites key order, spacing and escapes, so the bytes are not the ones
// that were signed and genuine deliveries fail.
func WebhooksWrong(secrets []string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var event map[string]interface{}
		if err := json.NewDecoder(r.Body).Decode(&event); err != nil {
			http.Error(w, "not JSON", http.StatusBadRequest)
			return
		}
		reencoded, _ := json.Marshal(event)
		var bad *hookseal.VerificationError
		if err := hookseal.VerifyHooksealV1(reencoded, r.Header, secrets); errors.As(err, &bad) {
			http.Error(w, bad.Code, http.StatusBadRequest)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}
}

func main() {
	secrets := []string{os.Getenv("HOOKSEAL_SECRET")}
	http.Handle("/webhooks", Webhooks(secrets))
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", nil))
}
