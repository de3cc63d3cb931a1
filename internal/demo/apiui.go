package demo

import (
	"encoding/json"
	"html"
	"regexp"
	"strings"
)

// The "API UI": what norman sends a browser that navigates to an API URL
// (Mozilla User-Agent, Accept */* or none). Real Rancher loads a JavaScript
// browser from releases.rancher.com; the demo stays offline and shows the
// JSON with its links clickable. Its point is fidelity of negotiation: a
// replay that keeps the browser User-Agent but drops Accept gets HTML here
// too, so the lost header shows up.

var linkRE = regexp.MustCompile(`(https?://[^\s"<]+)`)

const apiUIHead = `<!DOCTYPE html>
<!-- If you are reading this, there is a good chance you would prefer sending an
"Accept: application/json" header and receiving actual JSON responses. -->
<html lang="en"><head><meta charset="utf-8"><title>API · apitape demo</title>
<style>
body{margin:0;font:14px/1.5 system-ui,sans-serif;background:#f4f6fa;color:#1f2933}
header{background:#1b2a41;color:#fff;padding:10px 20px;font-weight:600}
header span{opacity:.7;font-weight:400;margin-left:8px}
pre{margin:20px;padding:16px;background:#fff;border:1px solid #d9e0ea;border-radius:6px;overflow:auto;
font:13px/1.45 ui-monospace,Menlo,Consolas,monospace}
a{color:#2453ff;text-decoration:none}a:hover{text-decoration:underline}
</style></head><body><header>apitape demo API<span>`

func writeAPIUI(ar *apiRequest, status int, v any) {
	body, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		body = []byte(`{}`)
	}
	escaped := html.EscapeString(string(body))
	linked := linkRE.ReplaceAllStringFunc(escaped, func(u string) string {
		return `<a href="` + u + `">` + u + `</a>`
	})
	h := ar.w.Header()
	h.Set("Content-Type", "text/html")
	h.Set("X-Frame-Options", "SAMEORIGIN")
	ar.w.WriteHeader(status)
	var b strings.Builder
	b.WriteString(apiUIHead)
	b.WriteString(html.EscapeString(ar.r.URL.Path))
	b.WriteString("</span></header>\n<pre>")
	b.WriteString(linked)
	b.WriteString("</pre>\n</body></html>\n")
	ar.w.Write([]byte(b.String()))
}
