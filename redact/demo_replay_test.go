package redact_test

import (
	"context"
	"strings"
	"testing"

	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/placeholder"
	"github.com/apitape/apitape/redact"
	"github.com/apitape/apitape/replay"
	"github.com/apitape/apitape/replay/replaytest"
)

// TestDemoSessionReplays records sessions against the demo server the way
// the Rancher UI and a script drive it, redacts them, checks that each
// secret has one placeholder wherever it travels (CSRF cookie = X-Api-Csrf
// header, R_SESS in Set-Cookie = in Cookie), and replays them against a
// fresh server with only the password supplied: the rest is learned from
// the live answers.
func TestDemoSessionReplays(t *testing.T) {
	if testing.Short() {
		t.Skip("starts demo servers")
	}
	for _, kind := range []string{"browser", "token"} {
		t.Run(kind, func(t *testing.T) {
			base := redact.StartDemo(t)
			var entries []*har.Entry
			var err error
			if kind == "browser" {
				entries, err = replaytest.RecordDemoBrowserSession(base, redact.DemoPassword)
			} else {
				entries, err = replaytest.RecordDemoTokenSession(base, redact.DemoPassword)
			}
			if err != nil {
				t.Fatal(err)
			}
			in := string(replaytest.HARBytes(entries))
			out, sum, recs := redact.RedactString(t, redact.NewTestRedactor(t, redact.Options{}), in)
			if len(sum.Residual) > 0 {
				t.Fatalf("residual: %v", sum.Residual)
			}
			if strings.Contains(out, redact.DemoPassword) {
				t.Fatal("the password survives")
			}
			h := redact.MustParse(t, "redacted", out)
			env := map[string]string{}
			for _, r := range recs {
				if r.Rule == "key:password" {
					env[placeholder.EnvName(r.Placeholder)] = redact.DemoPassword
				}
			}
			if len(env) != 1 {
				t.Fatalf("want one password placeholder, got %v", env)
			}
			if kind == "browser" {
				for i, e := range h.Log.Entries[1:] {
					csrfHeader := redact.ReqHeader(h, i+1, "X-Api-Csrf")
					cookieHdr := redact.ReqHeader(h, i+1, "Cookie")
					if !redact.PlaceholderRe.MatchString(csrfHeader) || !strings.Contains(cookieHdr, "CSRF="+csrfHeader) {
						t.Errorf("entry %d (%s): X-Api-Csrf %q and Cookie %q disagree", i+1, e.Request.URL, csrfHeader, cookieHdr)
					}
				}
				setCookie := respHeaderAll(h.Log.Entries[1], "Set-Cookie")
				sess := redact.FirstPH(setCookie[strings.Index(setCookie, "R_SESS="):])
				if sess == "" || !strings.Contains(redact.ReqHeader(h, 2, "Cookie"), "R_SESS=token-") || redact.FirstPH(redact.ReqHeader(h, 2, "Cookie")[strings.Index(redact.ReqHeader(h, 2, "Cookie"), "R_SESS="):]) != sess {
					t.Errorf("R_SESS placeholders differ: Set-Cookie %q, Cookie %q", setCookie, redact.ReqHeader(h, 2, "Cookie"))
				}
			}
			r, err := replay.New(redact.StartDemo(t), replay.WithEnv(func(k string) string { return env[k] }))
			if err != nil {
				t.Fatal(err)
			}
			res, err := r.Run(context.Background(), h.Log.Entries)
			if err != nil {
				t.Fatalf("replay of the redacted %s session: %v", kind, err)
			}
			if res.Regressed() {
				var report strings.Builder
				replay.WriteText(&report, res)
				t.Errorf("the redacted %s session does not replay:\n%s", kind, report.String())
			}
		})
	}
}

func respHeaderAll(e *har.Entry, name string) string {
	var vs []string
	for _, nv := range e.Response.Headers {
		if strings.EqualFold(nv.Name, name) {
			vs = append(vs, nv.Value)
		}
	}
	return strings.Join(vs, "\n")
}
