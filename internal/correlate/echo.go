package correlate

import (
	"strings"

	"github.com/apitape/apitape/har"
)

// An answer that holds minEchoes of its request's values (its URL, header
// values, body) of at least minEchoLen bytes echoes the request (httpbin's
// /anything): it produced nothing, whatever else it holds.
const (
	minEchoLen = 8
	minEchoes  = 2
)

// echoSet keeps the request's values an echo would repeat. A list, not
// a map: a request has a dozen values, and comparing lengths first
// rules out nearly every answer value at once.
func (a *analyzer) echoSet(e *har.Entry) {
	a.echo, a.echoHit, a.echoes = a.echo[:0], a.echoHit[:0], 0
	add := func(v string) {
		if len(v) >= minEchoLen {
			a.echo = append(a.echo, v)
			a.echoHit = append(a.echoHit, false)
		}
	}
	add(e.Request.URL)
	for _, h := range e.Request.Headers {
		if !strings.HasPrefix(h.Name, ":") {
			add(h.Value)
		}
	}
	if pd := e.Request.PostData; pd != nil && pd.Text != nil && len(*pd.Text) <= maxValueLen {
		add(*pd.Text)
	}
}

// echoed counts an answer value that repeats one of the request's
// (each once, and only values that could bind: not a content type).
func (a *analyzer) echoed(v string) {
	for i, r := range a.echo {
		if len(r) == len(v) && !a.echoHit[i] && r == v && bindable(v) {
			a.echoHit[i] = true
			a.echoes++
		}
	}
}
