package redact

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/apitape/apitape/har"
)

// TestLongTail: a log.comment after the entries longer than har.MaxTail
// is copied byte for byte past what the reader keeps, its start is
// redacted, and a warning says the rest was not inspected.
func TestLongTail(t *testing.T) {
	c := newCanaries("long-tail")
	key := c.rancherKey()
	in := strings.TrimSuffix(harOf(ent{reqH: [][2]string{{"Authorization", "Bearer token-fkx2q:" + key}}}.json()), "]}}\n")
	filler := strings.Repeat("lorem ipsum dolor ", har.MaxTail/18+1000)
	in += `],"comment":"echo ` + key + " " + filler + `"}}` + "\n"
	out, sum, _ := redactString(t, newTestRedactor(t, Options{}), in)
	if strings.Contains(out, key) {
		t.Fatal("the secret in the comment's start survives")
	}
	if !json.Valid([]byte(out)) {
		t.Fatal("output is not JSON")
	}
	if !strings.HasSuffix(out, filler+`"}}`+"\n") {
		t.Fatal("the comment's end is not copied")
	}
	if sum.Warnings != 1 {
		t.Fatalf("%d warnings, want 1 (the part not inspected)", sum.Warnings)
	}
	if sum.Entries != 1 || len(sum.Residual) > 0 {
		t.Fatalf("%d entries, %d residual", sum.Entries, len(sum.Residual))
	}
}
