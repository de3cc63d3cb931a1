package redact

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/apitape/apitape/har"
)

// Test fixtures are generated, never committed: every secret is a canary
// built from a prefix and a deterministic filler, so the repository holds
// no token-shaped literal (redaction-cases.md §1).

type canaries struct {
	seed    string
	n       int
	secrets []string // must vanish, in every spelling
}

func newCanaries(seed string) *canaries { return &canaries{seed: seed} }

// fill returns n characters of alphabet, deterministic for (seed, label).
func (c *canaries) fill(alphabet string, n int) string {
	c.n++
	var out []byte
	for block := 0; len(out) < n; block++ {
		sum := sha256.Sum256([]byte(fmt.Sprintf("%s/%d/%d", c.seed, c.n, block)))
		for _, b := range sum {
			if len(out) == n {
				break
			}
			out = append(out, alphabet[int(b)%len(alphabet)])
		}
	}
	return string(out)
}

const (
	alnum   = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b32     = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	hexChrs = "0123456789abcdef"
	b64Chrs = alnum + "+/"
)

func (c *canaries) secret(v string) string { c.secrets = append(c.secrets, v); return v }

// rancherKey is the 54-character part of a Rancher token after the colon.
func (c *canaries) rancherKey() string { return c.secret(c.fill(rancherAlphabet, 54)) }
func (c *canaries) hex32() string      { return c.secret(c.fill(hexChrs, 32)) }
func (c *canaries) aws() string        { return c.secret("AKIA" + "FAKE" + c.fill(b32, 12)) }
func (c *canaries) github() string     { return c.secret("ghp_" + "FAKE" + c.fill(alnum, 32)) }
func (c *canaries) password() string   { return c.secret("Fake-" + c.fill(alnum, 10) + "!") }
func (c *canaries) word(prefix string, n int) string {
	return c.secret(prefix + c.fill(alnum, n))
}
func (c *canaries) b64(n int) string { return c.secret(c.fill(b64Chrs, n)) }
func (c *canaries) dop() string      { return c.secret("dop_v1_" + c.fill(hexChrs, 64)) }

// jwt returns a JWT whose signature is the canary; header and claims are
// not secret.
func (c *canaries) jwt() (token, headerPayload string) {
	h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`))
	p := base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"user-x7k2p","iss":"https://login.example","exp":1735689600}`))
	sig := c.secret(c.fill(alnum+"-_", 86))
	return h + "." + p + "." + sig, h + "." + p
}

// pem returns a private key whose body is the canary.
func (c *canaries) pem(kind string) (block, body string) {
	var lines []string
	for i := 0; i < 4; i++ {
		lines = append(lines, c.fill(b64Chrs, 64))
	}
	body = c.secret(strings.Join(lines, "\n"))
	return "-----BEGIN " + kind + "PRIVATE KEY-----\n" + body + "\n-----END " + kind + "PRIVATE KEY-----\n", body
}

// cert returns a public certificate (never secret).
func (c *canaries) cert() string {
	var lines []string
	for i := 0; i < 3; i++ {
		lines = append(lines, c.fill(b64Chrs, 64))
	}
	return "-----BEGIN CERTIFICATE-----\n" + strings.Join(lines, "\n") + "\n-----END CERTIFICATE-----\n"
}

// spellings are the forms a secret could leak in.
func spellings(v string) []string {
	jb, _ := json.Marshal(v)
	forms := []string{
		v, url.QueryEscape(v), url.PathEscape(v), jsonEscaped(v), string(jb[1 : len(jb)-1]),
		jsonEscaped(jsonEscaped(v)), // inside a JSON body inside a HAR string
		base64.StdEncoding.EncodeToString([]byte(v)), base64.RawStdEncoding.EncodeToString([]byte(v)),
		base64.URLEncoding.EncodeToString([]byte(v)), base64.RawURLEncoding.EncodeToString([]byte(v)),
	}
	seen := map[string]bool{}
	var out []string
	for _, f := range forms {
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}

// assertGone fails if any spelling of any secret is in out.
func assertGone(t *testing.T, what, out string, secrets []string) {
	t.Helper()
	for _, s := range secrets {
		for _, f := range spellings(s) {
			if strings.Contains(out, f) {
				t.Errorf("%s: a secret (length %d) survives as %q…", what, len(s), f[:min(len(f), 12)])
			}
		}
	}
}

var placeholderRe = regexp.MustCompile(`REDACTED-[a-z0-9]+-(?:[a-p]{8}|[0-9a-f]{8})`)

// sameOutside checks that out is in with each secret spelling replaced by
// one placeholder: every byte that is not secret is unchanged.
func sameOutside(in, out string, secrets []string) bool {
	const mark = "\x00"
	var forms []string
	for _, s := range secrets {
		forms = append(forms, spellings(s)...)
	}
	// Longest first, so a spelling that contains another goes whole.
	for i := range forms {
		for j := i + 1; j < len(forms); j++ {
			if len(forms[j]) > len(forms[i]) {
				forms[i], forms[j] = forms[j], forms[i]
			}
		}
	}
	for _, f := range forms {
		in = strings.ReplaceAll(in, f, mark)
	}
	out = placeholderRe.ReplaceAllString(out, mark)
	return in == out
}

// ent builds one HAR entry as JSON.
type ent struct {
	method, url      string
	reqH, reqC, qs   [][2]string
	postMime         string
	postText         *string
	params           [][2]string
	status           int
	respH, respC     [][2]string
	mime, text, enc  string
	redirect         string
	extra            string // raw JSON members added to the entry
	noResponseText   bool
	contentSize      int
	reqHeadersSize   int
	responseBodySize int
	requestBodySize  int
}

func jq(s string) string {
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	e.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

func nvList(nv [][2]string) string {
	var parts []string
	for _, p := range nv {
		parts = append(parts, `{"name":`+jq(p[0])+`,"value":`+jq(p[1])+`}`)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func (e ent) json() string {
	if e.method == "" {
		e.method = "GET"
	}
	if e.url == "" {
		e.url = "https://rancher.example/v3"
	}
	if e.status == 0 {
		e.status = 200
	}
	if e.mime == "" {
		e.mime = "application/json"
	}
	var b strings.Builder
	b.WriteString(`{"startedDateTime":"2025-03-14T10:00:00.000Z","time":12.5,"request":{"method":` + jq(e.method) + `,"url":` + jq(e.url))
	b.WriteString(`,"httpVersion":"HTTP/1.1","cookies":` + nvList(e.reqC) + `,"headers":` + nvList(e.reqH) + `,"queryString":` + nvList(e.qs))
	if e.postText != nil || e.params != nil {
		b.WriteString(`,"postData":{"mimeType":` + jq(e.postMime))
		if e.params != nil {
			b.WriteString(`,"params":` + nvList(e.params))
		}
		if e.postText != nil {
			b.WriteString(`,"text":` + jq(*e.postText))
		}
		b.WriteString("}")
	}
	fmt.Fprintf(&b, `,"headersSize":%d,"bodySize":%d},"response":{"status":%d,"statusText":"OK","httpVersion":"HTTP/1.1"`, e.reqHeadersSize, e.requestBodySize, e.status)
	b.WriteString(`,"cookies":` + nvList(e.respC) + `,"headers":` + nvList(e.respH))
	fmt.Fprintf(&b, `,"content":{"size":%d,"mimeType":%s`, e.contentSize, jq(e.mime))
	if !e.noResponseText {
		b.WriteString(`,"text":` + jq(e.text))
	}
	if e.enc != "" {
		b.WriteString(`,"encoding":` + jq(e.enc))
	}
	fmt.Fprintf(&b, `},"redirectURL":%s,"headersSize":-1,"bodySize":%d}`, jq(e.redirect), e.responseBodySize)
	b.WriteString(`,"cache":{},"timings":{"send":0.1,"wait":10,"receive":2.4}`)
	if e.extra != "" {
		b.WriteString("," + e.extra)
	}
	b.WriteString("}")
	return b.String()
}

func str(s string) *string { return &s }

// harOf wraps entries (JSON texts) into a HAR file.
func harOf(entries ...string) string {
	return `{"log":{"version":"1.2","creator":{"name":"apitape-test","version":"1"},"entries":[` + "\n" +
		strings.Join(entries, ",\n") + "\n]}}\n"
}

// redactString runs Stream over a HAR in memory.
func redactString(t testing.TB, r *Redactor, in string) (string, Summary, []Record) {
	t.Helper()
	var out bytes.Buffer
	var recs []Record
	sum, err := r.Stream(strings.NewReader(in), &out, StreamOptions{Name: "case.har", OnRecord: func(rec Record) { recs = append(recs, rec) }})
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	return out.String(), sum, recs
}

func mustParse(t testing.TB, what, s string) *har.File {
	t.Helper()
	h, err := har.ReadAll(strings.NewReader(s), what)
	if err != nil {
		t.Fatalf("%s does not parse as HAR: %v", what, err)
	}
	return h
}

var testKey = []byte("0123456789abcdef0123456789abcdef")

func newTestRedactor(t testing.TB, opts Options) *Redactor {
	t.Helper()
	if opts.Key == nil {
		opts.Key = testKey
	}
	r, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
