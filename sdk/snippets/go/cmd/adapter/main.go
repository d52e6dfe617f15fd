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
	"strings"
	"time"

	"hookseal.dev/snippet"
)

type answer struct {
	OK     bool   `json:"ok"`
	Error  string `json:"error,omitempty"`
	Detail string `json:"detail,omitempty"`
}

var (
	base64Body = regexp.MustCompile(`^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$`)
	token      = regexp.MustCompile("^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
)

func fail(code, detail string) answer { return answer{Error: code, Detail: detail} }

// field decodes a request field into a plain Go value (json.Number for numbers, nil for
// null), or returns fallback when the field is absent.
func field(request map[string]json.RawMessage, name string, fallback interface{}) interface{} {
	raw, present := request[name]
	if !present {
		return fallback
	}
	var value interface{}
	decoder := json.NewDecoder(bytes.NewReader(raw))
	decoder.UseNumber()
	_ = decoder.Decode(&value)
	return value
}

// handle answers one request line. Malformed requests answer "invalid_request", as the
// SDK's reference adapter does.
func handle(line []byte) (result answer) {
	defer func() {
		if r := recover(); r != nil { // never crash: garbage in, one answer out
			result = fail("invalid_configuration", fmt.Sprint("unexpected: ", r))
		}
	}()
	var request map[string]json.RawMessage
	if !json.Valid(line) {
		return fail("invalid_request", "the line is not JSON")
	}
	if err := json.Unmarshal(line, &request); err != nil || request == nil {
		return fail("invalid_request", "a request must be a JSON object")
	}
	profile, _ := field(request, "profile", "hookseal-v1").(string)
	if profile != "hookseal-v1" && profile != "standard-webhooks" {
		return fail("unsupported_profile", "")
	}
	bodyB64, ok := field(request, "body_b64", "").(string)
	if !ok || !base64Body.MatchString(bodyB64) {
		return fail("invalid_request", "body_b64 is not base64")
	}
	body, _ := base64.StdEncoding.DecodeString(bodyB64)
	now := time.Now().Unix()
	switch value := field(request, "now", nil).(type) {
	case nil:
	case json.Number:
		f, err := value.Float64()
		if i, errInt := value.Int64(); errInt == nil {
			now = i
		} else if err == nil && !math.IsInf(f, 0) {
			// Far outside any timestamp: clamp, so that now - ts cannot overflow.
			now = int64(math.Max(math.Min(math.Floor(f), 1<<61), -(1 << 61)))
		} else {
			return fail("invalid_request", "now must be a number")
		}
	default:
		return fail("invalid_request", "now must be a number")
	}
	var secrets []string
	switch value := field(request, "secrets", []interface{}{}).(type) {
	case string:
		secrets = []string{value}
	case []interface{}:
		for _, secret := range value {
			text, ok := secret.(string)
			if !ok {
				return fail("invalid_configuration", "a secret must be a string")
			}
			secrets = append(secrets, text)
		}
	default:
		return fail("invalid_configuration", "secrets must be a string or a list")
	}
	tolerance, toleranceOK := int64(0), false
	if number, ok := field(request, "tolerance", json.Number("300")).(json.Number); ok {
		tolerance, toleranceOK = parseInt(number)
	}
	prefix, prefixOK := field(request, "header_prefix", "Hookseal").(string)
	if !toleranceOK || !prefixOK || !token.MatchString(prefix) {
		return fail("invalid_configuration", "tolerance must be an integer and header_prefix a header name token")
	}
	wanted := map[string]bool{"webhook-id": true, "webhook-timestamp": true, "webhook-signature": true}
	first := "webhook-id"
	if profile == "hookseal-v1" {
		first = strings.ToLower(prefix + "-Signature")
		wanted = map[string]bool{first: true}
	}
	// Like the SDK: headers that are not an object, or a wanted header that is not text,
	// are malformed, and null is absent. The verifier must report it (after its own
	// configuration checks), so such a header is sent twice in two spellings.
	headers, ok := field(request, "headers", map[string]interface{}{}).(map[string]interface{})
	if !ok {
		headers = map[string]interface{}{first: 0}
	}
	header := http.Header{}
	for name, value := range headers {
		text, isText := value.(string)
		switch {
		case isText || (value == nil && wanted[strings.ToLower(name)]):
			header[name] = []string{text} // as sent: no canonicalization, so duplicates show
		case wanted[strings.ToLower(name)]:
			header[strings.ToLower(name)] = []string{""}
			header[strings.ToUpper(name)] = []string{""}
		}
	}
	if tolerance > math.MaxInt64/int64(time.Second) {
		tolerance = math.MaxInt64 / int64(time.Second)
	}
	opts := []hookseal.Option{
		hookseal.WithTolerance(time.Duration(tolerance) * time.Second),
		hookseal.WithClock(func() time.Time { return time.Unix(now, 0) }),
		hookseal.WithHeaderPrefix(prefix),
	}
	if secrets == nil {
		secrets = []string{}
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
		return fail(failed.Code, failed.Message)
	case errors.As(err, &misconfigured):
		return fail("invalid_configuration", misconfigured.Message)
	default:
		return fail("invalid_configuration", err.Error())
	}
}

// parseInt accepts a JSON integer written without a fraction or exponent, like Python's
// json module (2.0 is a float there, so not a valid tolerance).
func parseInt(number json.Number) (int64, bool) {
	value, err := number.Int64()
	if err != nil && strings.Trim(string(number), "-0123456789") == "" {
		if strings.HasPrefix(string(number), "-") {
			return -1, true // a huge negative integer: still negative
		}
		return math.MaxInt64, true // a huge integer: as good as infinite
	}
	return value, err == nil
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
