package redact

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/apitape/apitape/internal/placeholder"
)

// FuzzParseJSON checks the span-keeping JSON reader against encoding/json:
// same verdict on validity, same string values, and spans that cut out
// exactly each value's text.
func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{
		`{}`, `[]`, `"x"`, `{"a":[1,-2.5e3,true,false,null,"\u00e9\ud83d\ude00\n\"\\\/"]}`,
		`{"a":"\u0041KIA"}`, ` {"a" : { "b" : [ ] } } `, `{"a":1,}`, `[1 2]`, `"\x"`, `"\ud800"`, `01`, `1.`, `-`, `{"a":"b"`,
		"\"\x01\"", `{"k":"v","k":"w"}`, `[` + strings.Repeat(`[`, 50) + strings.Repeat(`]`, 51),
		`{"a":[` + strings.Repeat(`[`, 9998) + strings.Repeat(`]`, 9999) + `}`,
		`{"a":[` + strings.Repeat(`[`, 9999) + strings.Repeat(`]`, 10000) + `}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		root, err := parseJSON(s)
		if valid := json.Valid([]byte(s)); valid != (err == nil) {
			t.Fatalf("parseJSON error %v, json.Valid %v", err, valid)
		}
		if _, lerr := parseLazy(s); (lerr == nil) != (err == nil) {
			t.Fatalf("parseJSON error %v, parseLazy error %v", err, lerr)
		}
		if err != nil {
			return
		}
		var check func(n *jnode)
		check = func(n *jnode) {
			text := s[n.start:n.end]
			if !json.Valid([]byte(text)) {
				t.Fatalf("span %d-%d is not a JSON value: %q", n.start, n.end, text)
			}
			if n.kind == '"' && utf8.ValidString(text) {
				var want string
				json.Unmarshal([]byte(text), &want)
				got := n.str(s)
				if got.s != want {
					t.Fatalf("decoded %q, encoding/json says %q", got.s, want)
				}
				if n := jsonDecodedLen(text[1 : len(text)-1]); n != len(want) {
					t.Fatalf("jsonDecodedLen %d, decoded length %d", n, len(want))
				}
				// The escape map takes the ends of the value to the ends
				// of the text.
				if p, in := got.escapes().rawPos(len(got.s)); in || p != len(text)-2 {
					t.Fatalf("rawPos(end) = %d %v, want %d", p, in, len(text)-2)
				}
			}
			kids := n.kids()
			for i := range kids {
				if k := &kids[i]; n.kind == '{' {
					// A member's name is read off the text on demand.
					lit, off := k.keyLiteral(s)
					var want string
					if err := json.Unmarshal([]byte(s[off-1:off+len(lit)+1]), &want); err != nil {
						t.Fatalf("member name %q at %d is not a JSON string: %v", lit, off, err)
					}
					if got := k.name(s); utf8.ValidString(lit) && got != want {
						t.Fatalf("member name %q, encoding/json says %q", got, want)
					}
				}
				check(&kids[i])
			}
		}
		check(&root)
	})
}

// FuzzJSONEscape checks that escaping for a JSON string round-trips.
func FuzzJSONEscape(f *testing.F) {
	for _, s := range []string{"", "plain", "a\"b\\c", "\x00\x1f\n\r\t", "é€😀", "<>&\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		enc := jsonEscaped(s)
		if !json.Valid([]byte(`"` + enc + `"`)) {
			t.Fatalf("invalid JSON string: %q", enc)
		}
		if got := decodeJSONString(enc).s; got != s {
			t.Fatalf("round trip: %q → %q → %q", s, enc, got)
		}
	})
}

// FuzzPlaceholderSpans checks the hand-written placeholder scan against
// internal/placeholder's regular expression.
func FuzzPlaceholderSpans(f *testing.F) {
	for _, s := range []string{"", "REDACTED-bearer-0a1b2c3d", "xREDACTED-REDACTED-a-01234567", "REDACTED--01234567",
		"REDACTED-a-0123456", "REDACTED-cookie-0A1B2C3D REDACTED-x-123 a=REDACTED-csrf-ffffffff;REDACTED-k8s-deadbeef9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := placeholder.FindAll(s)
		if got := placeholderSpans(s); !reflect.DeepEqual(got, want) && (len(got) > 0 || len(want) > 0) {
			t.Errorf("placeholderSpans(%q) = %v, want %v", s, got, want)
		}
		if got, want := containsPlaceholder(s), placeholder.Contains(s); got != want {
			t.Errorf("containsPlaceholder(%q) = %v, want %v", s, got, want)
		}
	})
}

// FuzzDecodePercent checks the percent-decoding map: an edit made on the
// decoded text and mapped back decodes to the same edit.
func FuzzDecodePercent(f *testing.F) {
	for _, s := range []string{"a%20b", "%zz%4", "x+y%2B", "%E2%82%AC", "100%"} {
		f.Add(s, true, uint8(1), uint8(3))
	}
	f.Fuzz(func(t *testing.T, s string, plus bool, i, j uint8) {
		js := decodePercent(s, plus)
		a, b := int(i)%(len(js.s)+1), int(j)%(len(js.s)+1)
		if a > b {
			a, b = b, a
		}
		es := &editSet{}
		es.add(edit{start: a, end: b, text: "R-1"})
		m, ok := es.mapped(js.esc, url.QueryEscape)
		if !ok {
			t.Fatalf("percent escapes are one byte each: mapping cannot fail")
		}
		got := decodePercent(m.apply(s), plus).s
		if want := js.s[:a] + "R-1" + js.s[b:]; got != want {
			t.Fatalf("edit [%d,%d) of %q: decodes to %q, want %q", a, b, s, got, want)
		}
	})
}

// places a secret can be planted in.
var places = []string{
	"header", "authorization", "cookie-header", "cookies", "query", "path", "json-body", "form-body",
	"response-json", "response-base64", "ws-text", "ws-binary", "custom-field", "location", "redirect",
	"log-comment", "page-title", "multipart", "yaml-in-json", "echo", "json-key",
	"env-list", "deflate-body", "hex-text",
}

// kinds is how many token shapes plant knows: apitape's own detectors,
// then vendor shapes from gitleaks' rules.
const kinds = 15

// plant returns a HAR with one secret of the given kind in place, the
// secret part that must vanish, and filler around it.
func plant(place, kind int, filler string, seed string) (string, string) {
	c := newCanaries(seed)
	// Keep the filler from touching the secret: tokens are recognised by
	// what surrounds them.
	filler = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			return ' '
		}
		return r
	}, filler)
	if len(filler) > 40 {
		filler = filler[:40]
	}
	filler = strings.ToValidUTF8(filler, " ")
	var value, secret string
	switch kind % kinds {
	case 0:
		secret = c.rancherKey()
		value = "token-fkx2q:" + secret
	case 1:
		jwt, hp := c.jwt()
		value, secret = jwt, strings.TrimPrefix(jwt, hp+".")
	case 2:
		secret = c.aws()
		value = secret
	case 3:
		secret = c.github()
		value = secret
	case 4:
		block, body := c.pem("EC ")
		value, secret = block, body
	case 5:
		secret = c.dop()
		value = secret
	case 6:
		secret = c.secret("AIza" + c.fill(alnum+"-_", 35))
		value = secret
	case 7:
		secret = c.secret("xoxb-" + c.fill("0123456789", 12) + "-" + c.fill(alnum, 24))
		value = secret
	case 8:
		secret = c.secret("glpat-" + c.fill(alnum, 20))
		value = secret
	case 9:
		secret = c.vendor("npm_", alnum, 36)
		value = secret
	case 10:
		secret = c.vendor("hf_", "abcdefghijklmnopqrstuvwxyz", 34)
		value = secret
	case 11:
		secret = c.vendor("sk-ant-api03-", alnum+"-_", 93, "AA")
		value = secret
	case 12:
		// Digits throughout: gitleaks allowlists s\.[A-Za-z]{24} anywhere
		// in a Vault token, so 24 letters in a row hide a real one from it.
		secret = c.vendor("hvs.", hexChrs+"-_", 100)
		value = secret
	case 13:
		secret = c.vendor("dckr_pat_", alnum+"-_", 27)
		value = secret
	case 14:
		secret = c.vendor("shpat_", hexChrs, 32)
		value = secret
	}
	text := filler + " " + value + " " + filler
	e := ent{}
	var head, outside string
	switch places[place%len(places)] {
	case "header":
		e.reqH = [][2]string{{"X-Custom-" + fmt.Sprint(kind), text}}
	case "authorization":
		e.reqH = [][2]string{{"Authorization", "Bearer " + value}}
	case "cookie-header":
		e.reqH = [][2]string{{"Cookie", "a=b; sess=" + url.QueryEscape(value) + "; c=d"}}
	case "cookies":
		e.reqC = [][2]string{{"x", url.QueryEscape(value)}}
	case "query":
		e.url = "https://rancher.example/v3/x?a=" + url.QueryEscape(filler) + "&q=" + url.QueryEscape(text)
	case "path":
		e.url = "https://rancher.example/v3/" + url.PathEscape(value) + "/x"
	case "json-body":
		e.method, e.postMime, e.postText = "POST", "application/json", str(`{"k":`+jq(text)+`,"n":1}`)
	case "form-body":
		e.method, e.postMime, e.postText = "POST", "application/x-www-form-urlencoded", str("a=1&b="+url.QueryEscape(text))
	case "response-json":
		e.text = `{"items":[{"note":` + jq(text) + `}]}`
	case "response-base64":
		e.text, e.enc = base64.StdEncoding.EncodeToString([]byte(`{"note":`+jq(text)+`}`)), "base64"
	case "ws-text":
		e.extra = `"_webSocketMessages":[{"type":"receive","time":1,"opcode":1,"data":` + jq(text) + `}]`
	case "ws-binary":
		e.extra = `"_webSocketMessages":[{"type":"receive","time":1,"opcode":2,"data":"` + base64.StdEncoding.EncodeToString([]byte("\x00\x01 "+value+" \x02")) + `"}]`
	case "custom-field":
		e.extra = `"_debug":{"trace":[` + jq(text) + `]}`
	case "location":
		e.respH = [][2]string{{"Location", "https://rancher.example/cb?x=" + url.QueryEscape(text)}}
	case "redirect":
		e.redirect = "https://rancher.example/cb?x=" + url.QueryEscape(text)
	case "log-comment":
		outside = `,"comment":` + jq(text)
	case "page-title":
		head = `"pages":[{"startedDateTime":"2025-03-14T10:00:00Z","id":"page_1","title":` + jq(text) + `,"pageTimings":{}}],`
	case "multipart":
		e.method, e.postMime = "POST", "multipart/form-data; boundary=b0"
		e.postText = str("--b0\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\n\r\n" + text + "\r\n--b0--\r\n")
	case "yaml-in-json":
		e.text = `{"config":` + jq("apiVersion: v1\nnote: x\nusers:\n- user:\n    comment: "+jq(text)+"\n") + `}`
	case "json-key":
		e.text = `{"byName":{` + jq(text) + `:{"n":1}}}`
	case "env-list":
		e.text = `{"env":[{"name":"LOG","value":` + jq(filler) + `},{"name":"SERVICE_TOKEN","value":` + jq(value) + `}]}`
	case "deflate-body":
		e.respH = [][2]string{{"Content-Encoding", "deflate"}}
		e.text, e.enc = base64.StdEncoding.EncodeToString(compressWith("deflate", `{"note":`+jq(text)+`}`)), "base64"
	case "hex-text":
		e.mime, e.text = "text/plain", "dump "+hex.EncodeToString([]byte(text))+" end"
	case "echo":
		// The value is secret by its name in one entry and only echoed in
		// another, before and after.
		p := c.password()
		secret = p
		first := ent{url: "https://rancher.example/x?msg=" + url.QueryEscape(filler+" "+p)}.json()
		login := ent{method: "POST", postMime: "application/json", postText: str(`{"password":` + jq(p) + `}`)}.json()
		last := ent{text: `{"message":` + jq("echo "+p+" "+filler) + `}`}.json()
		return harOf(first, login, last), secret
	}
	doc := `{"log":{"version":"1.2","creator":{"name":"t","version":"1"},` + head + `"entries":[` + e.json() + `]` + outside + `}}`
	return doc, secret
}

// FuzzPlantedSecret: a secret planted in any field of a HAR never
// survives redaction, in any spelling, and the result is valid.
func FuzzPlantedSecret(f *testing.F) {
	for p := range places {
		for k := 0; k < kinds; k++ {
			f.Add(uint8(p), uint8(k), "some text ✓ with \"quotes\" & more")
		}
	}
	f.Add(uint8(0), uint8(0), "${")
	f.Add(uint8(6), uint8(1), "REDACTED-x-00000000")
	f.Fuzz(func(t *testing.T, place, kind uint8, filler string) {
		doc, secret := plant(int(place), int(kind), filler, fmt.Sprint(place, kind, filler))
		mustParse(t, "planted", doc)
		out, _, _ := redactString(t, newTestRedactor(t, Options{}), doc)
		mustParse(t, "redacted", out)
		assertGone(t, places[int(place)%len(places)], out, []string{secret})
		if h := hex.EncodeToString([]byte(secret)); strings.Contains(out, h) {
			t.Errorf("%s: the secret survives hex-encoded", places[int(place)%len(places)])
		}
		if again, _, _ := redactString(t, newTestRedactor(t, Options{}), out); again != out {
			t.Errorf("second run changed the output:\n%s", firstDiff(out, again))
		}
	})
}

// FuzzEntry redacts arbitrary text as an entry: never a panic; valid JSON
// in, valid JSON out, and a second pass changes nothing.
func FuzzEntry(f *testing.F) {
	f.Add(`{"request":{"url":"https://x/?token=abcdefghijklmnop","headers":[{"name":"Cookie","value":"a=b; R_SESS=x"}]}}`)
	jwt, _ := newCanaries("fuzz-entry").jwt()
	f.Add(`{"response":{"content":{"text":"` + jwt + `","encoding":"base64"}}}`)
	f.Add(`{"_webSocketMessages":[{"opcode":2,"data":"AAEC"}],"x":[1,{"password":"p"}]}`)
	f.Add(`[1,2]`)
	f.Add(`{"a":"`)
	f.Fuzz(func(t *testing.T, s string) {
		r := newTestRedactor(t, Options{})
		out, _, err := r.Entry(0, []byte(s))
		if err != nil {
			if json.Valid([]byte(s)) && strings.HasPrefix(strings.TrimSpace(s), "{") {
				t.Fatalf("valid object rejected: %v", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error")
			}
			return
		}
		if !json.Valid(out) {
			t.Fatalf("output is not JSON: %q", out)
		}
		again, _, err := newTestRedactor(t, Options{}).Entry(0, out)
		if err != nil || string(again) != string(out) {
			t.Fatalf("second pass changed %q to %q (%v)", out, again, err)
		}
	})
}

// FuzzParseRules: any rules file is accepted or refused with a one-line
// error, never a panic.
func FuzzParseRules(f *testing.F) {
	f.Add("headers: [X-A]\ncookies: [\"U88+6Et^x\"]\npatterns:\n  - {name: v, regex: 'vnd_[a-z]+', class: vendor}\n")
	f.Add(`{"json":["a.b.c"],"keep":["x"]}`)
	f.Add("patterns: [{regex: '('}]")
	f.Add("headerz: 1")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRules([]byte(s), "rules.yaml")
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error: %q", err)
			}
			return
		}
		if _, err := New(Options{Rules: r}); err != nil {
			t.Fatalf("parsed rules rejected by New: %v", err)
		}
	})
}

// FuzzScanText: scanning any text never panics, and a finding's line is
// within the text.
func FuzzScanText(f *testing.F) {
	f.Add("curl -H 'Authorization: Bearer token-x:abc' 'https://u:p@h/?token=x&code=1&state=2'\n")
	f.Add("name=\"password\"\\r\\n\\r\\nsecret123\n-----BEGIN RSA PRIVATE KEY-----\\nabc")
	f.Add("password: \"${APITAPE_SECRET_PASSWORD_0A0B0C0D}\"\nX-Api-Csrf: \"+os.Getenv(\"X\")")
	f.Fuzz(func(t *testing.T, s string) {
		fs, err := ScanText(strings.NewReader(s), "f")
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Count(s, "\n") + 1
		for _, x := range fs {
			if x.Line < 1 || x.Line > lines {
				t.Fatalf("finding on line %d of %d", x.Line, lines)
			}
		}
	})
}

// FuzzJSONCursor: the forward cursor that maps a JSON string's decoded
// offsets back to its text agrees with the escape map, whatever the
// steps between the offsets asked.
func FuzzJSONCursor(f *testing.F) {
	for _, s := range []string{`a\"b`, `\u00e9x\ud83d\ude00\n`, `\ud800\u0041`, `\x\`, `plain`, `\\\\\/\b`, `é\u00e9\\`} {
		f.Add(s, uint8(1))
	}
	f.Fuzz(func(t *testing.T, raw string, step uint8) {
		js := decodeJSONString(raw)
		m := js.escapes()
		c := js.positions()
		for i := 0; i <= len(js.s); i += 1 + int(step)%5 {
			wp, win := m.rawPos(i)
			gp, gin := c.rawPos(i)
			if wp != gp || win != gin {
				t.Fatalf("offset %d: cursor %d %v, map %d %v", i, gp, gin, wp, win)
			}
		}
	})
}
