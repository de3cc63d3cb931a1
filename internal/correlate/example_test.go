package correlate_test

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/apitape/apitape/har"
	"github.com/apitape/apitape/internal/correlate"
)

// session: create a cluster, create a node pool in it, read the pool back
// with its id percent-encoded.
func session() []*har.Entry {
	mk := func(method, url, body string, status int, resp string) *har.Entry {
		e := &har.Entry{Request: har.Request{Method: method, URL: url}, Response: har.Response{Status: status}}
		if body != "" {
			e.Request.PostData = &har.PostData{MimeType: "application/json", Text: har.String(body)}
		}
		e.Response.Content.Text = har.String(resp)
		return e
	}
	return []*har.Entry{
		mk("POST", "https://rancher.test/v3/cluster", `{"type":"cluster","name":"lab"}`, 201, `{"type":"cluster","id":"c-q7x2m"}`),
		mk("POST", "https://rancher.test/v3/nodepool", `{"clusterId":"c-q7x2m","quantity":1}`, 201, `{"type":"nodePool","id":"c-q7x2m:np-8hv4t"}`),
		mk("GET", "https://rancher.test/v3/nodePools/c-q7x2m%3Anp-8hv4t", "", 200, `{}`),
	}
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// A bash emitter: literal parts are quoted as recorded, variables are
// expanded (through jq's @uri where the recording had them encoded), and
// after each call the variables its response produces are read with jq.
func Example_bash() {
	es := session()
	m, _ := correlate.Analyze(es, nil, correlate.Options{})
	word := func(entry int, where, text string) string {
		var b strings.Builder
		for _, p := range m.Rewrite(entry, where, text) {
			switch {
			case p.Var == nil:
				b.WriteString(shellQuote(p.Text))
			case p.Encoded == correlate.EncodedURL:
				b.WriteString(`"$(jq -rn --arg v "$` + p.Var.Name + `" '$v|@uri')"`)
			default:
				b.WriteString(`"$` + p.Var.Name + `"`)
			}
		}
		return b.String()
	}
	for i, e := range es {
		_, path, _, _ := correlate.SplitURL(e.Request.URL)
		cmd := "response=$(curl -sf -X " + e.Request.Method + ` "$BASE_URL"` + word(i, correlate.WhereURLPath, path)
		if body := e.Request.Body(); len(body) > 0 {
			cmd += " --data-binary " + word(i, correlate.WhereBody, string(body))
		}
		fmt.Println(cmd + ")")
		for _, v := range m.Produced(i) {
			fmt.Printf("%s=$(jq -er %s <<<\"$response\")\n", v.Name, shellQuote(v.Source.JQ()))
		}
	}
	// Output:
	// response=$(curl -sf -X POST "$BASE_URL"'/v3/cluster' --data-binary '{"type":"cluster","name":"lab"}')
	// CLUSTER_ID=$(jq -er '.id | strings, numbers' <<<"$response")
	// response=$(curl -sf -X POST "$BASE_URL"'/v3/nodepool' --data-binary '{"clusterId":"'"$CLUSTER_ID"'","quantity":1}')
	// NODE_POOL_ID=$(jq -er '.id | strings, numbers' <<<"$response")
	// response=$(curl -sf -X GET "$BASE_URL"'/v3/nodePools/'"$(jq -rn --arg v "$NODE_POOL_ID" '$v|@uri')")
}

// A Go emitter: variables become Go variables read with Source.Lookup
// (or generated code doing the same), literal parts become string
// literals, encoded parts go through url.QueryEscape with %20 for spaces
// (what EscapeURI does).
func Example_go() {
	es := session()
	m, _ := correlate.Analyze(es, nil, correlate.Options{})
	expr := func(entry int, where, text string) string {
		var terms []string
		for _, p := range m.Rewrite(entry, where, text) {
			switch {
			case p.Var == nil:
				terms = append(terms, strconv.Quote(p.Text))
			case p.Encoded == correlate.EncodedURL:
				terms = append(terms, "escapeURI(vars["+strconv.Quote(p.Var.Name)+"])")
			default:
				terms = append(terms, "vars["+strconv.Quote(p.Var.Name)+"]")
			}
		}
		return strings.Join(terms, " + ")
	}
	for i, e := range es {
		_, path, _, _ := correlate.SplitURL(e.Request.URL)
		fmt.Printf("resp, body = send(%q, baseURL + %s, %s)\n", e.Request.Method, expr(i, correlate.WhereURLPath, path), expr(i, correlate.WhereBody, string(e.Request.Body())))
		for _, v := range m.Produced(i) {
			fmt.Printf("vars[%q] = mustLookup(%#v, resp.Header, body)\n", v.Name, v.Source)
		}
	}
	// Output:
	// resp, body = send("POST", baseURL + "/v3/cluster", "{\"type\":\"cluster\",\"name\":\"lab\"}")
	// vars["CLUSTER_ID"] = mustLookup(correlate.Source{Kind:"json", Path:".id", Part:""}, resp.Header, body)
	// resp, body = send("POST", baseURL + "/v3/nodepool", "{\"clusterId\":\"" + vars["CLUSTER_ID"] + "\",\"quantity\":1}")
	// vars["NODE_POOL_ID"] = mustLookup(correlate.Source{Kind:"json", Path:".id", Part:""}, resp.Header, body)
	// resp, body = send("GET", baseURL + "/v3/nodePools/" + escapeURI(vars["NODE_POOL_ID"]), "")
}
