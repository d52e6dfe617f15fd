package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

type vectorCase struct {
	TcID     int             `json:"tcId"`
	Comment  string          `json:"comment"`
	Flags    []string        `json:"flags"`
	Request  json.RawMessage `json:"request"`
	Expected answer          `json:"expected"`
}

// TestVectors runs every case of the shared vectors file (sdk/vectors/vectors.json, or
// $HOOKSEAL_VECTORS) through the adapter. A missing file fails: it is never skipped.
func TestVectors(t *testing.T) {
	path := os.Getenv("HOOKSEAL_VECTORS")
	if path == "" {
		path = filepath.Join("..", "..", "..", "..", "vectors", "vectors.json")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the shared vectors file is required: %v", err)
	}
	var vectors struct {
		TestGroups []struct {
			Tests []vectorCase `json:"tests"`
		} `json:"testGroups"`
	}
	if err := json.Unmarshal(data, &vectors); err != nil {
		t.Fatal(err)
	}
	count, validEd25519 := 0, 0
	for _, group := range vectors.TestGroups {
		for _, c := range group.Tests {
			count++
			got := handle(c.Request)
			if got.OK != c.Expected.OK || (!got.OK && got.Error != c.Expected.Error) {
				t.Errorf("tcId %d (%s): got %+v, want %+v", c.TcID, c.Comment, got, c.Expected)
			}
			for _, flag := range c.Flags {
				if flag == "ed25519" && c.Expected.OK && got.OK {
					validEd25519++ // Go's crypto/ed25519 independently accepted a v1a signature
				}
			}
		}
	}
	if count == 0 || validEd25519 == 0 {
		t.Fatalf("%d cases, %d valid v1a cases verified: expected some of each", count, validEd25519)
	}
}

func TestGarbageNeverCrashes(t *testing.T) {
	for _, line := range []string{"", "null", "[]", "{", `{"profile":"x"}`, `{"secrets":[1],"headers":{}}`,
		`{"secrets":["s"],"headers":{"Hookseal-Signature":"t=1,v1=a"},"now":1.5}`, `{"secrets":["s"],"headers":{},"body_b64":"!"}`} {
		got := handle([]byte(line))
		if got.OK || got.Error == "" {
			t.Errorf("%q: got %+v", line, got)
		}
	}
}
