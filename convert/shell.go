package convert

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/apitape/apitape/internal/correlate"
	"github.com/apitape/apitape/internal/shellquote"
)

// maxArgBody is the largest body passed as a command-line argument. Linux
// refuses any single argument over 128 KiB (MAX_ARG_STRLEN) and all of
// them together over ARG_MAX; bigger bodies, and bodies an argument cannot
// carry (NUL, bytes that are not UTF-8), come from a quoted base64 heredoc
// on stdin instead, byte for byte.
const maxArgBody = 64 << 10

// heredocEnd ends every base64 heredoc; '_' is not in the base64 alphabet,
// so no data line can end it early.
const heredocEnd = "APITAPE_BODY"

// appendWord appends prefix and v as one shell word: literal text
// single-quoted, variables as "${NAME}" (the only thing that expands), a
// value the recording had percent-encoded as "$(uri "${NAME}")".
func appendWord(dst []byte, prefix string, v value) []byte {
	start := len(dst)
	// Values are merged, so a run of literal text is the prefix and one
	// part at most: joining them copies nothing in the common case.
	lit := prefix
	for _, p := range v {
		if !p.isVariable() {
			lit += p.Text
			continue
		}
		if lit != "" {
			dst = shellquote.Append(dst, lit)
			lit = ""
		}
		dst = appendVar(dst, p)
	}
	if lit != "" || len(dst) == start {
		dst = shellquote.Append(dst, lit) // '' for an empty word
	}
	return dst
}

// appendVar appends a variable part as a double-quoted expansion.
func appendVar(dst []byte, p part) []byte {
	if p.Var != nil && p.Enc == correlate.EncodedURL {
		return append(dst, `"$(uri "${`+p.Var.Name+`}")"`...)
	}
	name := p.Env
	if p.Var != nil {
		name = p.Var.Name
	}
	return append(dst, `"${`+name+`}"`...)
}

// bodyAsArg reports whether the body can be a command-line argument.
func bodyAsArg(v value) bool {
	if v.size() > maxArgBody {
		return false
	}
	for _, p := range v {
		if !p.isVariable() && (!shellquote.CanQuote(p.Text) || !utf8.ValidString(p.Text)) {
			return false
		}
	}
	return true
}

// appendBodyPipe writes the commands that print the body on stdout: each
// literal piece from a quoted base64 heredoc (nothing in it expands, no
// byte is interpreted), each variable with printf '%s'.
func appendBodyPipe(dst []byte, v value) []byte {
	for _, p := range v {
		switch {
		case p.isVariable():
			dst = append(dst, `printf '%s' `...)
			dst = appendVar(dst, p)
			dst = append(dst, '\n')
		case p.Text != "":
			dst = append(dst, "base64 -d <<'"+heredocEnd+"'\n"...)
			dst = appendBase64Lines(dst, p.Text)
			dst = append(dst, heredocEnd+"\n"...)
		}
	}
	return dst
}

func appendBase64Lines(dst []byte, s string) []byte {
	const line = 57 // bytes per 76-character line
	enc := base64.StdEncoding
	for len(s) > 0 {
		n := min(line, len(s))
		dst = enc.AppendEncode(dst, []byte(s[:n]))
		dst = append(dst, '\n')
		s = s[n:]
	}
	return dst
}

// appendCurlArgs appends the curl arguments for c after the URL, one
// option per line; bodyFile is what follows --data-binary when the body
// does not go as an argument, and plan (nil for none) says which headers
// come from files.
func appendCurlArgs(dst []byte, c *call, bodyFile string, plan *argPlan) []byte {
	const next = " \\\n  "
	for i, h := range c.headers {
		if h.spelt() {
			// curl writes a Host header under its own spelling; once
			// told to send none, it passes this one on as it is.
			dst = append(dst, next+"-H 'Host:'"...)
		}
		if plan != nil && plan.headers != nil && plan.headers[i] {
			dst = append(dst, next...)
			dst = appendHeaderFile(dst, h)
			continue
		}
		dst = append(dst, next+"-H "...)
		if h.value.size() == 0 && h.value.isLiteral() {
			// -H 'X: ' would make curl remove the header; 'X;' sends it empty.
			dst = shellquote.Append(dst, h.name+";")
		} else {
			dst = appendWord(dst, h.name+": ", h.value)
		}
	}
	// Suppress what curl would add that the recording did not have.
	if !c.has("Accept") {
		dst = append(dst, next+"-H 'Accept:'"...)
	}
	if !c.has("User-Agent") {
		dst = append(dst, next+"-H 'User-Agent:'"...)
	}
	if c.body != nil && !c.has("Content-Type") {
		dst = append(dst, next+"-H 'Content-Type:'"...)
	}
	if c.body != nil && !c.has("Expect") && (bodyFile != "" || c.body.size() >= 1<<20) {
		dst = append(dst, next+"-H 'Expect:'"...)
	}
	if c.needsZeroLength() {
		dst = append(dst, next+"-H 'Content-Length: 0'"...)
	}
	if c.compressed {
		dst = append(dst, next+"--compressed"...)
	}
	switch {
	case c.body == nil:
	case bodyFile != "":
		dst = append(dst, next+"--data-binary "...)
		dst = append(dst, bodyFile...)
	default:
		// --data-raw: a body starting with @ is text, never a file name.
		dst = append(dst, next+"--data-raw "...)
		dst = appendWord(dst, "", c.body)
	}
	return append(dst, '\n')
}

// methodArgs are the options that make curl send c.method: -I for HEAD
// (with -X HEAD curl would wait for a body), -X when the method is not
// what curl sends anyway.
func methodArgs(c *call) string {
	hasBody := c.body != nil
	switch {
	case c.method == "HEAD" && !hasBody:
		return "-I "
	case c.method == "GET" && !hasBody, c.method == "POST" && hasBody:
		return ""
	}
	return "-X " + shellquote.Quote(c.method) + " "
}

// writeCommand writes first and then c's curl options, one per line.
func writeCommand(w *bufio.Writer, scratch *[]byte, first string, c *call, bodyFile string, plan *argPlan) {
	w.WriteString(first)
	*scratch = appendCurlArgs((*scratch)[:0], c, bodyFile, plan)
	w.Write(*scratch)
}

// comment writes a one-line comment; s never holds a line break (URLs and
// methods with control characters are refused earlier).
func comment(w *bufio.Writer, lead string, index int, s string) {
	w.WriteString(lead)
	w.WriteString(" entry ")
	var num [20]byte
	w.Write(strconv.AppendInt(num[:0], int64(index), 10))
	w.WriteString(": ")
	w.WriteString(oneLineName(s))
	w.WriteByte('\n')
}

// curlEmitter writes one paste-ready command per call. Commands cannot
// take values from each other's answers, so they keep the recorded ones
// and say in a comment where each came from; a secret value (a login's
// token) becomes a variable instead, like the session's credentials.
type curlEmitter struct {
	skipComment
	exact   bool
	scratch []byte // reused for each command
}

func (e *curlEmitter) spooled() bool { return false }

func (e *curlEmitter) head(w *bufio.Writer, s *session) {
	w.WriteString("# apitape convert " + oneLineName(s.name) + ": one curl command per recorded call.\n")
	if !s.exact {
		w.WriteString("# Credentials are read from environment variables (named above each command that needs them).\n")
	}
	if len(s.chained) > 0 {
		w.WriteString("# Values that earlier answers produced (ids) are sent as recorded; the comments say\n")
		w.WriteString("# which answer each comes from. --to bash and --to go take them from the live answers.\n")
	}
}

func (e *curlEmitter) tail(w *bufio.Writer, s *session) {}

// resolve is a value as a curl command sends it: correlated values as
// recorded, secret ones (unless --exact) as a variable of their name.
func (e *curlEmitter) resolve(v value) value {
	if !v.hasVar() {
		return v
	}
	out := make(value, 0, len(v))
	for _, p := range v {
		switch {
		case p.Var == nil:
			out = append(out, p)
		case p.Var.Secret && !e.exact:
			out = append(out, part{Env: p.Var.Name})
		default:
			out = append(out, part{Text: p.Text})
		}
	}
	return out.merged()
}

// notes are the comment lines about correlated values: what this call's
// answer gives later calls, and where the values it sends came from.
func (e *curlEmitter) notes(c *call) []string {
	if len(c.produces) == 0 && !c.target.hasVar() && !c.body.hasVar() && !slices.ContainsFunc(c.headers, func(h header) bool { return h.value.hasVar() }) {
		return nil
	}
	var lines []string
	seen := map[*correlate.Var]bool{}
	note := func(val value) {
		for _, p := range val {
			v := p.Var
			if v == nil || seen[v] {
				continue
			}
			seen[v] = true
			if v.Secret && !e.exact {
				lines = append(lines, fmt.Sprintf("$%s is the %s of entry %d's answer (a secret: set it yourself)", v.Name, v.Source, v.Producer))
			} else {
				lines = append(lines, fmt.Sprintf("%s is %s, the %s of entry %d's answer", oneLineName(p.Text), v.Name, v.Source, v.Producer))
			}
		}
	}
	c.values(note)
	for _, t := range c.produces {
		v := t.v
		if v.Secret && !e.exact {
			lines = append(lines, fmt.Sprintf("its answer's %s is %s, a secret the commands below read from $%s", v.Source, v.Name, v.Name))
		} else {
			lines = append(lines, fmt.Sprintf("its answer's %s is %s (recorded: %s)", v.Source, v.Name, oneLineName(v.Value)))
		}
	}
	return lines
}

func (e *curlEmitter) call(w *bufio.Writer, orig *call) error {
	w.WriteByte('\n')
	notes := e.notes(orig)
	c := *orig
	c.target, c.body = e.resolve(orig.target), e.resolve(orig.body)
	c.headers = make([]header, len(orig.headers))
	for i, h := range orig.headers {
		c.headers[i] = header{h.name, e.resolve(h.value)}
	}
	var s session
	c.values(s.use)
	note := c.method + " " + e.resolve(c.path).label()
	if len(s.env) > 0 {
		note += " (needs " + strings.Join(s.env, ", ") + ")"
	}
	comment(w, "#", c.index, note)
	for _, n := range notes {
		w.WriteString("#   " + oneLineName(n) + "\n")
	}

	plan := planArgs(&c, c.origin)
	first := "curl " + methodArgs(&c) + "--path-as-is "
	bigURL := plan != nil && plan.url
	if rawPath(c.target) && !bigURL {
		first += string(appendWord([]byte("--request-target "), originPath(c.origin), c.target)) + " "
	}
	// curl globs [] and {}, which a variable's value may hold too.
	if !c.target.isLiteral() || strings.ContainsAny(c.target.label(), "[]{}") {
		first += "-g "
	}
	if bigURL {
		w.WriteString(bigURLNote)
		var target value
		if rawPath(c.target) {
			target = append(value{{Text: originPath(c.origin)}}, c.target...)
		}
		first += string(appendURLConfig(nil, target, append(value{{Text: c.origin}}, c.target...)))
	} else {
		first += string(appendWord(nil, c.origin, c.target))
	}
	if c.body == nil || bodyAsArg(c.body) {
		writeCommand(w, &e.scratch, first, &c, "", plan)
		return nil
	}
	// The body comes on stdin from quoted heredocs:
	// base64 -d <<'APITAPE_BODY' | curl … --data-binary @-
	writeBodyPipe(w, c.body, func(end string) { writeCommand(w, &e.scratch, end+" | "+first, &c, "@-", plan) })
	return nil
}

// writeBodyPipe writes the commands that print body, and then what
// follows them (a redirection, or a pipe into a command) with then, given
// the end of those commands: "}" after a group, or with one part, the
// first line of its heredoc, whose lines follow the whole command.
func writeBodyPipe(w *bufio.Writer, body value, then func(end string)) {
	pipe := appendBodyPipe(nil, body)
	if len(body) == 1 {
		hd, data, _ := strings.Cut(string(pipe), "\n")
		then(hd)
		w.WriteString(data)
		return
	}
	w.WriteString("{\n")
	w.Write(pipe)
	then("}")
}

// skipComment writes the comment for an entry that is not converted, led
// by its value ("#", "//").
type skipComment string

func (lead skipComment) skip(w *bufio.Writer, index int, reason string) {
	w.WriteByte('\n')
	comment(w, string(lead), index, reason+", not converted")
}

// oneLineName makes text from a HAR safe in a line comment of every
// target: a line break would end the comment and turn the rest into code.
// JavaScript also ends lines at U+2028 and U+2029, and U+0085 is one for
// some editors.
func oneLineName(name string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || r == 0x85 || r == '\u2028' || r == '\u2029' {
			return '?'
		}
		return r
	}, name)
}

// rawPath reports whether the recorded path holds bytes that curl would
// percent-encode (curl 7.88 sends é as %c3%a9, even with --path-as-is);
// --request-target sends them as they are.
func rawPath(target value) bool {
	for _, p := range target {
		if p.isVariable() {
			continue
		}
		path, _, query := strings.Cut(p.Text, "?")
		if strings.ContainsFunc(path, func(r rune) bool { return r >= utf8.RuneSelf }) {
			return true
		}
		if query {
			return false
		}
	}
	return false
}

// originPath is the path prefix of an origin (a --base-url may have one).
func originPath(origin string) string {
	_, rest, _ := strings.Cut(origin, "://")
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		return rest[i:]
	}
	return ""
}
