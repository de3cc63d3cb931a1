package redact

import (
	"crypto/sha256"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// TestRememberedSecretsHoldNoEntry: what a Redactor keeps between entries
// (the secrets, their spellings, the memos) are copies, never slices of
// an entry's text: 300 entries of 128 KiB, each with its own token, must
// not stay in memory with the Redactor.
func TestRememberedSecretsHoldNoEntry(t *testing.T) {
	r := newTestRedactor(t, Options{})
	pad := `"_pad":1` + strings.Repeat("0", 128<<10) // a number: kept, not analysed
	for i := range 300 {
		sum := sha256.Sum256([]byte(fmt.Sprint("hold", i)))
		key := make([]byte, rancherKeyLen)
		for j := range key {
			key[j] = rancherAlphabet[int(sum[j%len(sum)]^byte(j))%len(rancherAlphabet)]
		}
		tok := fmt.Sprintf("token-%05x:%s", i, key)
		raw := ent{reqH: [][2]string{{"Authorization", "Bearer " + tok}, {"User-Agent", "test"}}, reqC: [][2]string{{"R_SESS", tok}}, extra: pad}.json()
		if _, _, err := r.Entry(i, []byte(raw)); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("live heap %d MiB", ms.HeapAlloc>>20)
	if ms.HeapAlloc > 24<<20 {
		t.Errorf("live heap %d MiB after 38 MiB of entries: the Redactor keeps entries", ms.HeapAlloc>>20)
	}
	runtime.KeepAlive(r)
}

// TestMemoStillSweeps: a string remembered as clean is still swept for
// the secrets learned after it was first seen, and the check after
// redaction (which shares what the redaction remembered) still finds
// what --keep left in clear.
func TestMemoStillSweeps(t *testing.T) {
	const pw = "Xq7!vR2#mK9pLw4z"
	ua := "tool/1.0 (build " + pw + ")"
	r := newTestRedactor(t, Options{})
	entries := []string{
		ent{reqH: [][2]string{{"User-Agent", ua}}}.json(),
		ent{method: "POST", postMime: "application/json", postText: str(`{"password":"` + pw + `"}`), reqH: [][2]string{{"User-Agent", ua}}}.json(),
		ent{reqH: [][2]string{{"User-Agent", ua}}}.json(),
	}
	for i, e := range entries {
		out, _, err := r.Entry(i, []byte(e))
		if err != nil {
			t.Fatal(err)
		}
		// Entry 1's header comes before its body, where the password is
		// learned: only Stream goes back (below).
		if i == 2 && strings.Contains(string(out), pw) {
			t.Errorf("entry %d: the password survived in %s", i, out)
		}
	}
	out, sum, _ := redactString(t, newTestRedactor(t, Options{}), harOf(entries...))
	if strings.Contains(out, pw) || len(sum.Residual) > 0 {
		t.Errorf("Stream: password survived or residual %v", sum.Residual)
	}
	_, sum, _ = redactString(t, newTestRedactor(t, Options{Keep: []string{"password"}}), harOf(entries...))
	if len(sum.Residual) == 0 {
		t.Error("--keep password: the check found nothing")
	}
}
