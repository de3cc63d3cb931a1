package redact

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/zstd"
)

// An independent corpus of planted secrets, one case per family of issue
// #14's "miss nothing" list, and traps (values that look like secrets but
// are handles, ids or words) that must survive byte for byte.

type plantedCase struct {
	id, family string
	build      func(c *canaries) planted
}

type planted struct {
	entries []string
	forms   []string // other spellings of canaries that must vanish too
	keep    []string // must survive byte for byte
}

const digits = "0123456789"

// vendor builds a vendor token: prefix + filler (never a literal, so the
// repository holds no token shape).
func (c *canaries) vendor(prefix, alphabet string, n int, suffix ...string) string {
	return c.secret(prefix + c.fill(alphabet, n) + strings.Join(suffix, ""))
}

func obj(kv ...string) string {
	var parts []string
	for i := 0; i+1 < len(kv); i += 2 {
		parts = append(parts, jq(kv[i])+":"+jq(kv[i+1]))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func compressWith(codec string, data string) []byte {
	var b bytes.Buffer
	switch codec {
	case "deflate":
		w := zlib.NewWriter(&b)
		w.Write([]byte(data))
		w.Close()
	case "br":
		w := brotli.NewWriter(&b)
		w.Write([]byte(data))
		w.Close()
	case "zstd":
		w, _ := zstd.NewWriter(&b)
		w.Write([]byte(data))
		w.Close()
	}
	return b.Bytes()
}

func escapeAllJSON(s string) string {
	var b strings.Builder
	for _, r := range s {
		fmt.Fprintf(&b, `\u%04x`, r)
	}
	return b.String()
}

func entities(s string) string {
	var b strings.Builder
	for _, r := range s {
		fmt.Fprintf(&b, "&#%d;", r)
	}
	return b.String()
}

func plantedCases() []plantedCase {
	return []plantedCase{
		{"K1", "Kubernetes env list (JSON)", func(c *canaries) planted {
			pw, tok := c.password(), c.word("", 32)
			return planted{entries: []string{ent{text: `{"spec":{"containers":[{"name":"app","env":[` + obj("name", "DB_PASSWORD", "value", pw) + "," + obj("name", "API_TOKEN", "value", tok) + "," + obj("name", "LOG_LEVEL", "value", "debug") + `]}]}}`}.json()},
				keep: []string{`"value":"debug"`, `"name":"DB_PASSWORD"`}}
		}},
		{"K2", "Kubernetes env list (YAML in a string)", func(c *canaries) planted {
			pw := c.password()
			yml := "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        env:\n        - name: REDIS_PASSWORD\n          value: " + pw + "\n        - name: MODE\n          value: production\n"
			return planted{entries: []string{ent{text: obj("manifest", yml)}.json()}, keep: []string{"value: production"}}
		}},
		{"K3", "SecretList items without a kind, Secret stringData", func(c *canaries) planted {
			d1 := base64.StdEncoding.EncodeToString([]byte(c.password()))
			c.secret(d1)
			sd := c.word("", 24)
			list := `{"kind":"SecretList","apiVersion":"v1","items":[{"metadata":{"name":"db"},"data":{"anything":"` + d1 + `"}}]}`
			post := `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"x"},"stringData":{"whatever":"` + sd + `"}}`
			return planted{entries: []string{ent{text: list}.json(), ent{method: "POST", postMime: "application/json", postText: str(post)}.json()},
				keep: []string{`"name":"db"`}}
		}},
		{"Q1", "query names key, pw, pass, auth, access_key, sessid, signing_key, sas", func(c *canaries) planted {
			var q []string
			var qs [][2]string
			for _, n := range []string{"key", "pw", "pass", "auth", "access_key", "sessid", "signing_key", "sas"} {
				v := c.word("", 20)
				q = append(q, n+"="+v)
				qs = append(qs, [2]string{n, v})
			}
			u := "https://api.example/v1/things?" + strings.Join(q, "&") + "&limit=50"
			return planted{entries: []string{ent{url: u, qs: append(qs, [2]string{"limit", "50"})}.json()}, keep: []string{"&limit=50"}}
		}},
		{"H1", "credential headers", func(c *canaries) planted {
			var h [][2]string
			for _, n := range []string{"Ocp-Apim-Subscription-Key", "X-Auth-Key", "X-Functions-Key", "X-Access-Key", "X-Session-Id"} {
				h = append(h, [2]string{n, c.word("", 32)})
			}
			h = append(h, [2]string{"X-Hub-Signature-256", "sha256=" + c.secret(c.fill(hexChrs, 64))})
			return planted{entries: []string{ent{reqH: h}.json()}}
		}},
		{"F1", "form fields pw, pin, otp", func(c *canaries) planted {
			pw, pin, otp := c.password(), c.secret("7"+c.fill(digits, 7)), c.secret("3"+c.fill(digits, 7))
			body := "user=admin&pw=" + pw + "&pin=" + pin + "&otp=" + otp
			return planted{entries: []string{ent{method: "POST", postMime: "application/x-www-form-urlencoded", postText: str(body),
				params: [][2]string{{"user", "admin"}, {"pw", pw}, {"pin", pin}, {"otp", otp}}}.json()}, keep: []string{"user=admin"}}
		}},
		{"U1", "tokens in path segments", func(c *canaries) planted {
			a, b, d := c.word("", 32), c.word("", 24), c.word("", 40)
			return planted{entries: []string{
				ent{url: "https://app.example/reset-password/" + a}.json(),
				ent{url: "https://app.example/invite/" + b + "?ref=mail"}.json(),
				ent{url: "https://app.example/api/tokens/" + d}.json(),
			}, keep: []string{"?ref=mail", "/api/tokens/"}}
		}},
		{"S1", "AWS SigV4 Signature", func(c *canaries) planted {
			sig := c.secret(c.fill(hexChrs, 64))
			auth := "AWS4-HMAC-SHA256 Credential=" + c.aws() + "/20250101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + sig
			return planted{entries: []string{ent{reqH: [][2]string{{"Authorization", auth}}}.json()}, keep: []string{"SignedHeaders=host;x-amz-date, Signature="}}
		}},
		{"S2", "Azure AccountKey in a connection string", func(c *canaries) planted {
			k := c.secret(base64.StdEncoding.EncodeToString([]byte(c.fill(alnum, 64))))
			cs := "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=" + k + ";EndpointSuffix=core.windows.net"
			return planted{entries: []string{ent{text: obj("connectionString", cs)}.json()}, keep: []string{";EndpointSuffix=core.windows.net"}}
		}},
		{"W1", "HTML authenticity_token and csrf-token meta", func(c *canaries) planted {
			a, m := c.b64(43), c.b64(43)
			page := `<html><head><meta name="csrf-token" content="` + m + `"><meta name="viewport" content="width=device-width"></head><body><form><input type="hidden" name="authenticity_token" value="` + a + `"><input name="username" value="admin"></form></body></html>`
			return planted{entries: []string{ent{mime: "text/html", text: page}.json()}, keep: []string{`content="width=device-width"`, `name="username" value="admin"`}}
		}},
		{"W2", "bearer token in Sec-WebSocket-Protocol", func(c *canaries) planted {
			tok := c.word("", 40)
			p := base64.RawURLEncoding.EncodeToString([]byte(tok))
			c.secret(p)
			return planted{entries: []string{ent{url: "wss://k8s.example/api/v1/namespaces/x/pods/y/exec", status: 101,
				reqH: [][2]string{{"Sec-WebSocket-Protocol", "base64url.bearer.authorization.k8s.io." + p + ", v4.channel.k8s.io"}}}.json()}, keep: []string{", v4.channel.k8s.io"}}
		}},
		{"W3", "STOMP passcode in a WebSocket frame", func(c *canaries) planted {
			pc := c.word("", 20)
			frame := "CONNECT\naccept-version:1.2\nhost:broker\nlogin:guest\npasscode:" + pc + "\n\n\x00"
			return planted{entries: []string{ent{url: "wss://mq.example/ws", status: 101, extra: `"_resourceType":"websocket","_webSocketMessages":[{"type":"send","time":1.5,"opcode":1,"data":` + jq(frame) + `}]`}.json()},
				keep: []string{`login:guest`}}
		}},
		{"Y1", "passwords in cloud-init YAML inside a JSON string", func(c *canaries) planted {
			pw, plain := c.password(), c.password()
			ud := "#cloud-config\nusers:\n  - name: ops\n    passwd: " + pw + "\n    plain_text_passwd: " + plain + "\n    lock_passwd: false\npackages:\n  - curl\n"
			return planted{entries: []string{ent{method: "POST", postMime: "application/json", postText: str(`{"amazonec2Config":{"userdata":` + jq(ud) + `,"region":"us-east-1"}}`)}.json()},
				keep: []string{`lock_passwd: false`, `"region":"us-east-1"`}}
		}},
		{"E1", "echoes: \\u escapes, \\/, hex, HTML entities", func(c *canaries) planted {
			pw := c.password()
			tok := c.secret(c.fill(alnum, 12) + "/" + c.fill(alnum, 12))
			login := ent{method: "POST", postMime: "application/json", postText: str(obj("username", "admin", "password", pw)), text: obj("token", tok)}.json()
			js := `var a = "` + escapeAllJSON(pw) + `"; var b = "` + strings.ReplaceAll(tok, "/", `\/`) + `";`
			hx := hex.EncodeToString([]byte(pw))
			return planted{entries: []string{login,
				ent{mime: "application/javascript", text: js}.json(),
				ent{mime: "text/plain", text: "debug dump " + hx + " end"}.json(),
				ent{mime: "text/html", text: "<p>your password is " + entities(pw) + "</p>"}.json(),
			}, forms: []string{escapeAllJSON(pw), strings.ReplaceAll(tok, "/", `\/`), hx, entities(pw)}}
		}},
		{"E2", "echoes in other spellings before the secret is learned", func(c *canaries) planted {
			pw := c.password()
			hx := hex.EncodeToString([]byte(pw))
			return planted{entries: []string{
				ent{mime: "application/javascript", text: `var a = "` + escapeAllJSON(pw) + `";`}.json(),
				ent{mime: "text/plain", text: "dump " + hx + " end"}.json(),
				ent{mime: "text/html", text: "<p>" + entities(pw) + "</p>"}.json(),
				ent{method: "POST", postMime: "application/json", postText: str(obj("username", "admin", "password", pw))}.json(),
			}, forms: []string{escapeAllJSON(pw), hx, entities(pw)}}
		}},
		{"B1", "bodies compressed with deflate, br and zstd; base64 with line breaks", func(c *canaries) planted {
			var es []string
			for _, codec := range []string{"deflate", "br", "zstd"} {
				body := obj("token", c.word("", 32))
				es = append(es, ent{respH: [][2]string{{"Content-Encoding", codec}}, enc: "base64", text: base64.StdEncoding.EncodeToString(compressWith(codec, body))}.json())
			}
			wrapped := base64.StdEncoding.EncodeToString([]byte(obj("token", c.word("", 32), "padding", strings.Repeat("x", 80))))
			var lines []string
			for len(wrapped) > 76 {
				lines = append(lines, wrapped[:76])
				wrapped = wrapped[76:]
			}
			lines = append(lines, wrapped)
			es = append(es, ent{enc: "base64", text: strings.Join(lines, "\r\n")}.json())
			return planted{entries: es}
		}},
		{"V1", "vendor token shapes (gitleaks rules)", func(c *canaries) planted {
			toks := []string{
				c.vendor("sk-proj-", alnum+"-_", 74, "T3BlbkFJ", c.fill(alnum+"-_", 74)),
				c.vendor("sk-ant-api03-", alnum+"-_", 93, "AA"),
				c.vendor("hf_", "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", 34),
				c.vendor("SG.", alnum+"-_", 22, ".", c.fill(alnum+"-_", 43)),
				c.vendor("SK", hexChrs, 32),
				c.vendor("pypi-AgEIcHlwaS5vcmc", alnum+"-_", 60),
				c.vendor("dckr_pat_", alnum+"-_", 27),
				c.vendor("hvs.", alnum+"-_", 100),
				c.vendor("shpat_", hexChrs, 32),
				c.vendor("key-", hexChrs, 32),
				c.vendor("npm_", alnum, 36),
			}
			var parts []string
			for i, t := range toks {
				parts = append(parts, fmt.Sprintf(`"note%d":%s`, i, jq("see "+t)))
			}
			return planted{entries: []string{ent{text: "{" + strings.Join(parts, ",") + "}"}.json()}}
		}},
		{"V2", "vendor shapes in a query value, a custom header, a cookie and a WebSocket frame", func(c *canaries) planted {
			npm, hf := c.vendor("npm_", alnum, 36), c.vendor("hf_", "abcdefghijklmnopqrstuvwxyz", 34)
			sg := c.vendor("SG.", alnum+"-_", 22, ".", c.fill(alnum+"-_", 43))
			tw := c.vendor("SK", hexChrs, 32)
			return planted{entries: []string{ent{url: "https://api.example/v1/publish?note=" + npm + "&page=2", qs: [][2]string{{"note", npm}, {"page", "2"}},
				reqH: [][2]string{{"X-Debug-Note", "hf " + hf}}, reqC: [][2]string{{"pref", sg}},
				extra: `"_webSocketMessages":[{"type":"send","time":1,"opcode":1,"data":` + jq("hello "+tw) + `}]`}.json()}, keep: []string{"&page=2"}}
		}},
		{"H2", "credential headers in HTTP/2 lower case, in a response", func(c *canaries) planted {
			var h [][2]string
			for _, n := range []string{"ocp-apim-subscription-key", "x-functions-key", "x-session-id"} {
				h = append(h, [2]string{n, c.word("", 32)})
			}
			return planted{entries: []string{ent{respH: h}.json()}}
		}},
		{"K4", "Kubernetes Secret and env list sent as YAML", func(c *canaries) planted {
			pw, data := c.password(), c.secret(base64.StdEncoding.EncodeToString([]byte(c.fill(alnum, 24))))
			yml := "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n  anything: " + data + "\n---\napiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: x\n    env:\n    - name: ADMIN_PASS\n      value: \"" + pw + "\"\n"
			return planted{entries: []string{ent{method: "PUT", postMime: "application/yaml", postText: str(yml)}.json()}, keep: []string{"name: db"}}
		}},
	}
}

// plantedTraps must come out byte-identical.
func plantedTraps() []plantedCase {
	return []plantedCase{
		{"T1", "pagination tokens", func(c *canaries) planted {
			pt := c.fill(alnum, 40)
			return planted{entries: []string{ent{url: "https://api.example/v1/items?pageToken=" + pt + "&pageSize=50", qs: [][2]string{{"pageToken", pt}, {"pageSize", "50"}},
				text: obj("nextPageToken", c.fill(alnum, 40), "prevPageToken", c.fill(alnum, 40), "continuationToken", c.fill(alnum, 40))}.json()}}
		}},
		{"T2", "idempotency tokens", func(c *canaries) planted {
			return planted{entries: []string{ent{method: "POST", reqH: [][2]string{{"Idempotency-Key", c.fill(alnum, 32)}, {"X-Idempotency-Key", c.fill(alnum, 32)}}, postMime: "application/json",
				postText: str(obj("clientToken", c.fill(alnum, 36), "idempotencyToken", c.fill(alnum, 36), "name", "x"))}.json()}}
		}},
		{"T3", "ordinary words next to secret-like names", func(c *canaries) planted {
			js := "function cookie(n) { return document.cookie; }\nconst csrf = cookie('CSRF');\nlet token = getToken();\nconst password = form.password.value;\nheaders['X-Api-Csrf'] = csrf;\n"
			return planted{entries: []string{
				ent{mime: "application/javascript", text: js}.json(),
				ent{method: "POST", postMime: "application/json", postText: str(`{"username":"admin","responseType":"cookie","description":"pass the token along"}`), text: `{"cookies":[],"type":"token","kind":"password"}`}.json(),
			}}
		}},
		{"T4", "handshake subprotocols, hex digests, plain paths and HTML", func(c *canaries) planted {
			return planted{entries: []string{
				ent{url: "wss://k8s.example/api/v1/namespaces/x/pods/y/exec", status: 101, reqH: [][2]string{{"Sec-WebSocket-Protocol", "v4.channel.k8s.io, v5.channel.k8s.io"}, {"X-Cache-Key", "page-home"}}}.json(),
				ent{url: "https://app.example/docs/reset-password/", mime: "text/html", text: `<meta name="viewport" content="width=device-width"><input name="username" value="admin"><p>sha256 ` + c.fill(hexChrs, 64) + `</p>`}.json(),
			}}
		}},
	}
}

func TestPlantedSecrets(t *testing.T) {
	planted, caught := 0, 0
	for _, tc := range plantedCases() {
		t.Run(tc.id, func(t *testing.T) {
			c := newCanaries("planted-" + tc.id)
			p := tc.build(c)
			in := harOf(p.entries...)
			mustParse(t, "input", in)
			out, sum, recs := redactString(t, newTestRedactor(t, Options{}), in)
			mustParse(t, "redacted", out)
			before := t.Failed()
			for _, s := range c.secrets {
				planted++
				gone := true
				for _, f := range spellings(s) {
					if strings.Contains(out, f) {
						gone = false
						t.Errorf("%s: a canary (length %d) survives as %q…", tc.family, len(s), f[:min(len(f), 10)])
						break
					}
				}
				if gone {
					caught++
				}
			}
			for _, f := range p.forms {
				if strings.Contains(out, f) {
					t.Errorf("%s: an echo spelling survives: %q…", tc.family, f[:min(len(f), 14)])
				}
			}
			for _, k := range p.keep {
				if !strings.Contains(out, k) && !strings.Contains(out, jsonEscaped(k)) {
					t.Errorf("%s: lost %q", tc.family, k)
				}
			}
			if len(sum.Residual) > 0 {
				t.Errorf("residual: %v", sum.Residual)
			}
			for _, r := range recs {
				for _, s := range c.secrets {
					if strings.Contains(r.Location, s) || strings.Contains(r.Rule, s) {
						t.Errorf("the report holds a secret")
					}
				}
			}
			if f := scanCount(t, nil, in); len(f) == 0 {
				t.Errorf("scan finds nothing in the input")
			}
			if f := scanCount(t, nil, out); len(f) > 0 {
				t.Errorf("scan finds %v in the output", f)
			}
			if again, _, _ := redactString(t, newTestRedactor(t, Options{}), out); again != out {
				t.Errorf("a second run changed the output:\n%s", firstDiff(out, again))
			}
			if t.Failed() && !before {
				t.Logf("records: %v", recs)
			}
		})
	}
	t.Logf("planted secrets: %d, redacted: %d", planted, caught)
}

func TestPlantedTraps(t *testing.T) {
	for _, tc := range plantedTraps() {
		t.Run(tc.id, func(t *testing.T) {
			in := harOf(tc.build(newCanaries("trap-" + tc.id)).entries...)
			mustParse(t, "trap", in)
			out, sum, recs := redactString(t, newTestRedactor(t, Options{}), in)
			if out != in || sum.Redactions != 0 {
				t.Errorf("%s: changed: %v\n%s", tc.family, recs, firstDiff(in, out))
			}
			if f := scanCount(t, nil, in); len(f) > 0 {
				t.Errorf("%s: scan flags a non-secret: %v", tc.family, f)
			}
		})
	}
}

// TestPlantedScanRecall: scan sees every planted canary (removing it
// changes what scan reports), so a redacted file with one left over never
// scans clean.
func TestPlantedScanRecall(t *testing.T) {
	total, found := 0, 0
	for _, tc := range plantedCases() {
		c := newCanaries("planted-" + tc.id)
		p := tc.build(c)
		in := harOf(p.entries...)
		base := findingSet(scanCount(t, nil, in))
		for _, s := range c.secrets {
			stripped := in
			for _, f := range append(spellings(s), p.forms...) {
				stripped = strings.ReplaceAll(stripped, f, "")
			}
			if stripped == in {
				continue
			}
			total++
			if findingSet(scanCount(t, nil, stripped)) != base {
				found++
			} else {
				t.Errorf("%s: scan does not see a canary (length %d)", tc.id, len(s))
			}
		}
	}
	t.Logf("scan recall on the planted corpus: %d/%d canaries", found, total)
}

// TestUninspectedBodies: bodies that cannot be looked into are reported
// as not inspected (redact and scan fail on them unless allowed), never
// passed as clean.
func TestUninspectedBodies(t *testing.T) {
	var bomb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&bomb, gzip.BestSpeed)
	zw.Write(bytes.Repeat([]byte(" "), maxGunzip+1))
	zw.Close()
	cases := map[string]string{
		"gzip past the limit": ent{respH: [][2]string{{"Content-Encoding", "gzip"}}, enc: "base64", text: base64.StdEncoding.EncodeToString(bomb.Bytes())}.json(),
		"invalid base64":      ent{enc: "base64", text: "%%% not base64 %%%"}.json(),
		"not brotli":          ent{respH: [][2]string{{"Content-Encoding", "br"}}, enc: "base64", text: base64.StdEncoding.EncodeToString([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})}.json(),
		"not zstd":            ent{enc: "base64", text: base64.StdEncoding.EncodeToString([]byte{0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3})}.json(),
	}
	for name, e := range cases {
		t.Run(name, func(t *testing.T) {
			in := harOf(e)
			_, _, recs := redactString(t, newTestRedactor(t, Options{}), in)
			n := 0
			for _, r := range recs {
				if r.NotInspected() {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%d not-inspected records, want 1: %v", n, recs)
			}
			s, _ := NewScanner(nil)
			if f, err := s.ScanHAR(strings.NewReader(in), "x.har"); err != nil || len(f) != 1 || !strings.HasPrefix(f[0].Rule, "not inspected") {
				t.Errorf("scan: %v, %v", f, err)
			}
			s, _ = NewScanner(nil)
			s.AllowUninspected = true
			if f, _ := s.ScanHAR(strings.NewReader(in), "x.har"); len(f) != 0 {
				t.Errorf("scan with AllowUninspected: %v", f)
			}
		})
	}
}
