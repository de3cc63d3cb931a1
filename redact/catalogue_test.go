package redact

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
)

func TestCatalogueCounts(t *testing.T) {
	if n, m, s := len(secretCases()), len(trapCases()), len(structuralIDs); n != 39 || m != 18 || s != 10 {
		t.Errorf("catalogue has %d secret cases, %d traps, %d structural cases; redaction-cases.md has 39, 18, 10", n, m, s)
	}
}

// firstDiff shows where two texts part, for failure messages.
func firstDiff(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	lo := max(0, i-40)
	return "input …" + a[lo:min(len(a), i+60)] + "…\noutput …" + b[lo:min(len(b), i+60)] + "…"
}

func scanCount(t *testing.T, rules *Rules, text string) []Finding {
	t.Helper()
	s, err := NewScanner(rules)
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.ScanHAR(strings.NewReader(text), "case.har")
	if err != nil {
		t.Fatalf("ScanHAR: %v", err)
	}
	return f
}

func TestSecretCases(t *testing.T) {
	for _, tc := range secretCases() {
		t.Run(tc.id, func(t *testing.T) {
			c := newCanaries(tc.id)
			b := tc.build(c)
			in := harOf(b.entries...)
			out, sum, recs := redactString(t, newTestRedactor(t, tc.opts), in)
			assertGone(t, "redacted HAR", out, c.secrets)
			h := mustParse(t, "redacted HAR", out)
			if !b.reencoded && !placeholderRe.MatchString(out) {
				t.Errorf("no placeholder in the output")
			}
			if !b.reencoded && !sameOutside(in, out, c.secrets) {
				t.Errorf("bytes other than the secrets changed:\n%s", firstDiff(in, out))
			}
			for _, k := range b.keep {
				if !strings.Contains(out, k) {
					t.Errorf("lost %q", k)
				}
			}
			if len(sum.Residual) > 0 {
				t.Errorf("residual findings: %v", sum.Residual)
			}
			for _, r := range recs {
				for _, s := range c.secrets {
					if strings.Contains(r.Location, s) || strings.Contains(r.Rule, s) {
						t.Errorf("the report holds a secret: %+v", r)
					}
				}
			}
			again, _, _ := redactString(t, newTestRedactor(t, tc.opts), out)
			if again != out {
				t.Errorf("a second run changed the output:\n%s", firstDiff(out, again))
			}
			if f := scanCount(t, tc.opts.Rules, in); len(f) == 0 {
				t.Errorf("scan finds nothing in the unredacted HAR")
			}
			if f := scanCount(t, tc.opts.Rules, out); len(f) > 0 && !b.uninspected {
				t.Errorf("scan finds %v in the redacted HAR", f)
			} else if b.uninspected && (len(f) == 0 || !strings.Contains(f[0].Rule, "not inspected")) {
				t.Errorf("scan does not count the body it cannot inspect: %v", f)
			}
			if b.check != nil {
				b.check(t, h, out, recs)
			}
		})
	}
}

func TestTraps(t *testing.T) {
	for _, tc := range trapCases() {
		t.Run(tc.id, func(t *testing.T) {
			in := harOf(tc.build(newCanaries(tc.id))...)
			mustParse(t, "trap", in)
			out, sum, recs := redactString(t, newTestRedactor(t, Options{}), in)
			if out != in {
				t.Errorf("%s: changed: %v\n%s", tc.reason, recs, firstDiff(in, out))
			}
			if sum.Redactions != 0 {
				t.Errorf("%d redactions: %v", sum.Redactions, recs)
			}
			if f := scanCount(t, nil, in); len(f) > 0 {
				t.Errorf("scan flags a non-secret: %v", f)
			}
		})
	}
}

// TestScanRecall measures, for every canary of the secret cases, whether
// scan sees it: removing the canary from the HAR must change what scan
// reports (fewer findings, or other rules: a JWT without its signature is
// still a bearer credential, but no longer a JWT).
func TestScanRecall(t *testing.T) {
	total, found := 0, 0
	for _, tc := range secretCases() {
		c := newCanaries(tc.id)
		in := harOf(tc.build(c).entries...)
		base := findingSet(scanCount(t, tc.opts.Rules, in))
		for _, s := range c.secrets {
			stripped := in
			for _, f := range spellings(s) {
				stripped = strings.ReplaceAll(stripped, f, "")
			}
			if stripped == in {
				continue // only inside another canary's encoding (counted there)
			}
			total++
			if findingSet(scanCount(t, tc.opts.Rules, stripped)) != base {
				found++
			} else {
				t.Errorf("%s: scan does not see a canary (length %d)", tc.id, len(s))
			}
		}
	}
	t.Logf("scan recall on the case catalogue: %d/%d canaries = %.1f%%", found, total, 100*float64(found)/float64(total))
}

func findingSet(fs []Finding) string {
	var lines []string
	for _, f := range fs {
		lines = append(lines, f.String())
	}
	return strings.Join(lines, "\n")
}

func TestStructural(t *testing.T) {
	t.Run("S1", func(t *testing.T) { // validity with awkward escapes
		c := newCanaries("S1")
		p := c.secret(`Fa"ke\Pa55/` + c.fill(alnum, 8) + "\u00e9\t<>")
		in := harOf(ent{method: "POST", postMime: "application/json", postText: str(`{"note":"a \"quoted\" <b>tag</b> \\ and \u2028","password":` + jq(p) + `}`)}.json())
		out, _, _ := redactString(t, newTestRedactor(t, Options{}), in)
		mustParse(t, "output", out)
		assertGone(t, "output", out, c.secrets)
		if !json.Valid([]byte(out)) {
			t.Errorf("output is not valid JSON")
		}
		if !sameOutside(in, out, c.secrets) {
			t.Errorf("changed:\n%s", firstDiff(in, out))
		}
	})
	t.Run("S2", func(t *testing.T) { // indentation, key order, numbers and unknown fields kept
		c := newCanaries("S2")
		k := c.rancherKey()
		var v any
		json.Unmarshal([]byte(harOf(ent{reqH: [][2]string{{"Authorization", "Bearer token-fkx2q:" + k}}, extra: `"_custom":{"z":1,"a":[true,null]}`}.json())), &v)
		pretty, _ := json.MarshalIndent(v, "", "\t") // sorted keys, tabs: a different layout
		in := strings.Replace(string(pretty), `"time": 12.5`, `"time": 1.250e1`, 1)
		out, _, _ := redactString(t, newTestRedactor(t, Options{}), in)
		if !sameOutside(in, out, c.secrets) || !strings.Contains(out, `"time": 1.250e1`) || !strings.Contains(out, "\t\t\t\t\"_custom\"") && !strings.Contains(out, `"_custom"`) {
			t.Errorf("layout changed:\n%s", firstDiff(in, out))
		}
	})
	t.Run("S3", func(t *testing.T) { // content.size and bodySize follow the redacted text; headersSize stays
		c := newCanaries("S3")
		k := c.rancherKey()
		text := `{"token":"token-fkx2q:` + k + `"}`
		post := `{"password":"` + c.password() + `"}`
		in := harOf(
			ent{text: text, contentSize: len(text), reqHeadersSize: 321, responseBodySize: len(text), method: "POST", postMime: "application/json", postText: str(post), requestBodySize: len(post)}.json(),
			ent{text: text, contentSize: len(text), responseBodySize: 40}.json(), // compressed on the wire: bodySize stays
		)
		out, _, _ := redactString(t, newTestRedactor(t, Options{}), in)
		h := mustParse(t, "output", out)
		e := h.Log.Entries[0]
		if int(e.Response.Content.Size) != len(*e.Response.Content.Text) || int(e.Response.BodySize) != len(*e.Response.Content.Text) || e.Request.HeadersSize != 321 {
			t.Errorf("sizes: content %d, body %d for %d bytes of text; headers %d", e.Response.Content.Size, e.Response.BodySize, len(*e.Response.Content.Text), e.Request.HeadersSize)
		}
		if int(e.Request.BodySize) != len(*e.Request.PostData.Text) {
			t.Errorf("request bodySize %d for %d bytes of text", e.Request.BodySize, len(*e.Request.PostData.Text))
		}
		if e := h.Log.Entries[1]; int(e.Response.Content.Size) != len(*e.Response.Content.Text) || e.Response.BodySize != 40 {
			t.Errorf("compressed: content %d for %d bytes, bodySize %d (want 40)", e.Response.Content.Size, len(*e.Response.Content.Text), e.Response.BodySize)
		}
	})
	t.Run("S4", func(t *testing.T) { // mislabelled gzip is text; real gzip is inflated, redacted, deflated
		c := newCanaries("S4")
		k1, k2 := c.rancherKey(), c.rancherKey()
		plain := ent{respH: [][2]string{{"Content-Encoding", "gzip"}}, text: `{"token":"token-fkx2q:` + k1 + `"}`}.json()
		gz := ent{respH: [][2]string{{"Content-Encoding", "gzip"}}, enc: "base64", text: base64.StdEncoding.EncodeToString(gzipped(`{"token":"token-fkx2q:` + k2 + `"}`))}.json()
		out, _, _ := redactString(t, newTestRedactor(t, Options{}), harOf(plain, gz))
		assertGone(t, "output", out, c.secrets)
		h := mustParse(t, "output", out)
		wantMatch(t, "plain body", *h.Log.Entries[0].Response.Content.Text, `\{"token":"token-fkx2q:`+ph("token")+`"\}`)
		raw, _, _ := h.Log.Entries[1].Response.Content.Bytes()
		if len(raw) < 2 || raw[0] != 0x1f || raw[1] != 0x8b {
			t.Fatalf("gzip body is no longer gzip")
		}
		if b := string(gunzip(t, raw)); !regexp.MustCompile(`token-fkx2q:`+ph("token")).MatchString(b) || strings.Contains(b, k2) {
			t.Errorf("gzip body not redacted: %q", b)
		}
	})
	t.Run("S5", func(t *testing.T) { // truncated JSON: text rules, the sweep, a warning, no crash
		c := newCanaries("S5")
		k, p := c.rancherKey(), c.password()
		first := ent{method: "POST", postMime: "application/json", postText: str(`{"password":` + jq(p) + `}`)}.json()
		trunc := ent{text: `{"items":[{"token":"token-fkx2q:` + k + `","note":"echo ` + p + `","more":"tr`}.json()
		out, sum, recs := redactString(t, newTestRedactor(t, Options{}), harOf(first, trunc))
		assertGone(t, "output", out, c.secrets)
		mustParse(t, "output", out)
		if sum.Warnings == 0 {
			t.Errorf("no warning for the truncated body: %v", recs)
		}
	})
	t.Run("S6", func(t *testing.T) { // a large body (50 MB with APITAPE_BIG_BENCH=1; memory: BenchmarkStream)
		size := 12 << 20
		switch {
		case os.Getenv("APITAPE_BIG_BENCH") == "1":
			size = 50 << 20
		case testing.Short():
			size = 4 << 20
		}
		c := newCanaries("S6")
		k := c.rancherKey()
		in := harOf(ent{text: bigJSON(size, "token-fkx2q:"+k)}.json())
		out, _, _ := redactString(t, newTestRedactor(t, Options{}), in)
		if strings.Contains(out, k) || len(out) < size {
			t.Errorf("large body not redacted or truncated")
		}
	})
	t.Run("S7", func(t *testing.T) { // header names in any case
		c := newCanaries("S7")
		k1, k2 := c.rancherKey(), c.rancherKey()
		in := harOf(ent{reqH: [][2]string{{"AUTHORIZATION", "Bearer token-fkx2q:" + k1}, {"authorization", "bearer token-b8n4k:" + k2}}}.json())
		out, _, _ := redactString(t, newTestRedactor(t, Options{}), in)
		assertGone(t, "output", out, c.secrets)
		if !strings.Contains(out, `"bearer token-b8n4k:REDACTED-`) {
			t.Errorf("scheme or name lost: %s", out)
		}
	})
	t.Run("S8", func(t *testing.T) { // \u escapes are decoded before detection
		c := newCanaries("S8")
		ak := c.aws()
		esc := `\u0041` + ak[1:]
		entry := strings.Replace(ent{text: "X", extra: `"_note":"` + esc + `"`}.json(), `"text":"X"`, `"text":"{\"k\":\"`+strings.ReplaceAll(esc, `\`, `\\`)+`\"}"`, 1)
		out, _, _ := redactString(t, newTestRedactor(t, Options{}), harOf(entry))
		mustParse(t, "output", out)
		if strings.Contains(out, ak[1:]) {
			t.Errorf("an escaped AWS key survives")
		}
	})
	t.Run("S9", func(t *testing.T) { // scripts: placeholders become env references and scan clean
		testScripts(t)
	})
	t.Run("S10", func(t *testing.T) { // determinism
		c := newCanaries("S10")
		var entries []string
		for _, tc := range secretCases()[:12] {
			entries = append(entries, tc.build(c).entries...)
		}
		in := harOf(entries...)
		out1, _, recs1 := redactString(t, newTestRedactor(t, Options{}), in)
		out2, _, recs2 := redactString(t, newTestRedactor(t, Options{}), in)
		j1, _ := json.Marshal(recs1)
		j2, _ := json.Marshal(recs2)
		if out1 != out2 || string(j1) != string(j2) {
			t.Errorf("same key, different output or report")
		}
		r1, _ := New(Options{})
		r2, _ := New(Options{})
		o1, _, _ := redactString(t, r1, in)
		o2, _, _ := redactString(t, r2, in)
		hashes := regexp.MustCompile(`(REDACTED-[a-z0-9]+-)(?:[a-p]{8}|[0-9a-f]{8})`)
		if o1 == o2 || hashes.ReplaceAllString(o1, "${1}h") != hashes.ReplaceAllString(o2, "${1}h") {
			t.Errorf("random keys: outputs should differ only in the hashes")
		}
	})
}

// bigJSON returns a JSON document of about size bytes with secret in it.
func bigJSON(size int, secret string) string {
	var b strings.Builder
	b.Grow(size + 200)
	b.WriteString(`{"type":"collection","data":[`)
	item := `{"id":"c-abc12","type":"cluster","name":"production-eu-1","state":"active","labels":{"a":"b","tier":"gold"},"links":{"self":"https://rancher.example/v3/clusters/c-abc12"},"n":123456},`
	for b.Len() < size/2 {
		b.WriteString(item)
	}
	b.WriteString(`{"token":"` + secret + `"},`)
	for b.Len() < size {
		b.WriteString(item)
	}
	b.WriteString(`{"end":true}]}`)
	return b.String()
}

// TestReportNeverHoldsASecret: a map keyed by tokens is redacted, keys
// included, and no key reaches the report's locations.
func TestReportNeverHoldsASecret(t *testing.T) {
	c := newCanaries("report")
	k, aws := c.rancherKey(), c.aws()
	in := harOf(ent{text: `{"byToken":{"token-fkx2q:` + k + `":{"password":"` + c.password() + `"},"` + aws + `":{"note":"` + aws + `"}}}`}.json())
	out, _, recs := redactString(t, newTestRedactor(t, Options{}), in)
	assertGone(t, "output", out, c.secrets)
	mustParse(t, "output", out)
	if len(recs) < 2 {
		t.Fatalf("records: %v", recs)
	}
	for _, r := range recs {
		for _, s := range c.secrets {
			if strings.Contains(r.Location, s) {
				t.Errorf("location holds a secret: %+v", r)
			}
		}
	}
}
