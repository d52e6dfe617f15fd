// Command adapter is the contract 5.1 verifier adapter for the Go snippet: one JSON request
// per stdin line, exactly one JSON answer per stdout line, in order. It never crashes,
// whatever it is sent.
package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"regexp"
	"time"

	"hookseal.dev/snippet"
)

type answer struct {
	OK     bool   `json:"ok"`
	Error  string `json:"error,omitempty"`
	Detail string `json:"detail,omitempty"`
}

var base64Body = regexp.MustCompile(`^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$`)

func config(detail string) answer {
	return answer{Error: "invalid_configuration", Detail: detail}
}

// integer reads an optional JSON integer field; ok is false for floats, strings, null...
func integer(raw json.RawMessage, fallback int64) (value int64, ok bool) {
	if raw == nil {
		return fallback, true
	}
	var n json.Number
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if dec.Decode(&n) != nil {
		return 0, false
	}
	value, err := n.Int64()
	return value, err == nil
}

func handle(line []byte) (result answer) {
	defer func() {
		if r := recover(); r != nil { // never crash: garbage in, one answer out
			result = config(fmt.Sprint("unexpected: ", r))
		}
	}()
	var request map[string]json.RawMessage
	if err := json.Unmarshal(line, &request); err != nil || request == nil {
		return config("a request must be a JSON object")
	}
	profile := "hookseal-v1"
	if raw, present := request["profile"]; present && json.Unmarshal(raw, &profile) != nil {
		return answer{Error: "unsupported_profile"}
	}
	if profile != "hookseal-v1" && profile != "standard-webhooks" {
		return answer{Error: "unsupported_profile"}
	}
	var secrets []string
	var headers map[string]string
	bodyB64, prefix := "", "Hookseal"
	if json.Unmarshal(request["secrets"], &secrets) != nil || secrets == nil ||
		json.Unmarshal(request["headers"], &headers) != nil || headers == nil {
		return config("secrets must be a list of strings and headers an object of strings")
	}
	if raw, present := request["header_prefix"]; present && json.Unmarshal(raw, &prefix) != nil {
		return config("header_prefix must be a string")
	}
	if raw, present := request["body_b64"]; present && json.Unmarshal(raw, &bodyB64) != nil {
		return config("body_b64 must be a string")
	}
	tolerance, okTolerance := integer(request["tolerance"], 300)
	now, okNow := integer(request["now"], time.Now().Unix())
	if string(request["now"]) == "null" {
		now, okNow = time.Now().Unix(), true
	}
	if !okTolerance || !okNow {
		return config("now and tolerance must be integers")
	}
	if !base64Body.MatchString(bodyB64) {
		return config("body_b64 is not base64")
	}
	body, _ := base64.StdEncoding.DecodeString(bodyB64)
	header := http.Header{}
	for name, value := range headers {
		header[name] = []string{value} // as sent: no canonicalization, so duplicates show
	}
	if tolerance > math.MaxInt64/int64(time.Second) {
		tolerance = math.MaxInt64 / int64(time.Second)
	}
	opts := []hookseal.Option{
		hookseal.WithTolerance(time.Duration(tolerance) * time.Second),
		hookseal.WithClock(func() time.Time { return time.Unix(now, 0) }),
		hookseal.WithHeaderPrefix(prefix),
	}
	var err error
	if profile == "hookseal-v1" {
		err = hookseal.VerifyHooksealV1(body, header, secrets, opts...)
	} else {
		err = hookseal.VerifyStandardWebhooks(body, header, secrets, opts...)
	}
	var failed *hookseal.VerificationError
	var misconfigured *hookseal.ConfigurationError
	switch {
	case err == nil:
		return answer{OK: true}
	case errors.As(err, &failed):
		return answer{Error: failed.Code, Detail: failed.Message}
	case errors.As(err, &misconfigured):
		return config(misconfigured.Message)
	default:
		return config(err.Error())
	}
}

func main() {
	in := bufio.NewReaderSize(os.Stdin, 1<<16)
	out := bufio.NewWriter(os.Stdout)
	encoder := json.NewEncoder(out)
	for {
		line, readErr := in.ReadBytes('\n') // no line-length limit, unlike bufio.Scanner
		if len(bytes.TrimSpace(line)) > 0 {
			_ = encoder.Encode(handle(line)) // Encode appends the newline
			_ = out.Flush()
		}
		if readErr == io.EOF {
			return
		} else if readErr != nil {
			fmt.Fprintln(os.Stderr, "adapter:", readErr)
			os.Exit(1)
		}
	}
}
