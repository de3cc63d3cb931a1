package convert

import (
	"strconv"
	"strings"

	"github.com/apitape/apitape/internal/correlate"
)

// Linux refuses any single argument over 128 KiB (MAX_ARG_STRLEN) and all
// of them with the environment over about 2 MiB, so a recorded value that
// big cannot be one of curl's arguments. Above maxArgValue a header goes
// through a header file (-H @FILE), and above maxArgURL the URL through a
// config (-K FILE), both process substitutions: nothing is written to
// disk, and what stays under them (almost every value) keeps the readable
// form. The URL stays an argument as long as Linux allows, since curl
// before 8.2 reads config lines of at most 100 KiB. Variables, not
// constants, so that tests can lower them.
var (
	maxArgValue = 64 << 10
	maxArgURL   = maxArgString
)

// maxArgString is the longest argument Linux passes: MAX_ARG_STRLEN, 128
// KiB with the terminating NUL.
const maxArgString = 128<<10 - 1

// maxArgTotal bounds what one call's headers and URL put on the command
// line together; past it, headers go through files too.
const maxArgTotal = 1 << 20

// sentSize is the size of v as sent, counting a correlated value's
// recorded text and a placeholder's text for the variable that replaces it.
func sentSize(v value) int {
	n := 0
	for _, p := range v {
		n += len(p.Text)
	}
	return n
}

// argPlan says which of a call's values go to curl through files.
type argPlan struct {
	url     bool   // the URL (and --request-target) through -K
	headers []bool // by index into c.headers: through -H @FILE
}

// planArgs decides, for a call whose URL is origin plus c.target, which
// values are too big to be arguments; nil when none is (the common case).
func planArgs(c *call, origin string) *argPlan {
	total := len(origin) + sentSize(c.target)
	var p *argPlan
	if total > maxArgURL {
		p = &argPlan{url: true}
		total = 0
	}
	if c.body != nil && bodyAsArg(c.body) {
		total += c.body.size()
	}
	for i, h := range c.headers {
		n := len(h.name) + 2 + sentSize(h.value)
		if n <= maxArgValue && total+n <= maxArgTotal {
			total += n
			continue
		}
		if p == nil {
			p = &argPlan{}
		}
		if p.headers == nil {
			p.headers = make([]bool, len(c.headers))
		}
		p.headers[i] = true
	}
	return p
}

// appendHeaderFile appends -H @<(…), a header file that holds the header
// line: curl reads one header per line, as if each were given with -H. A
// recorded value has no line break (validHeader); one a variable holds
// at run time would end the line there.
func appendHeaderFile(dst []byte, h header) []byte {
	dst = append(dst, "-H @<(printf '%s\\n' "...)
	dst = appendWord(dst, h.name+": ", h.value)
	return append(dst, ')')
}

// appendURLConfig appends -K <(…), a curl config that sets the request
// target (when target is not nil) and the URL: config lines are read
// from a file, not the command line. curl before 8.2 reads lines of up to
// 100 KiB only, less than an argument may be; 8.2 and later up to 10 MiB.
func appendURLConfig(dst []byte, target, url value) []byte {
	if target == nil {
		return appendConfig(dst, configOpt{"url", url})
	}
	return appendConfig(dst, configOpt{"request-target", target}, configOpt{"url", url})
}

// configOpt is one line of a curl config: name = "value".
type configOpt struct {
	name string
	v    value
}

// appendConfig appends -K <(…) that gives curl opts as a config.
func appendConfig(dst []byte, opts ...configOpt) []byte {
	dst = append(dst, "-K <("...)
	n := 0
	lines := make([][]byte, len(opts))
	var prep []byte
	for i, o := range opts {
		var cv value
		cv, prep, n = configValue(o.v, prep, n)
		lines[i] = appendWord(nil, o.name+` = "`, append(cv, part{Text: `"`}).merged())
	}
	if len(prep) > 0 {
		dst = append(dst, `b=\\ q=\"; `...)
		dst = append(dst, prep...)
	}
	dst = append(dst, "printf '%s\\n'"...)
	for _, l := range lines {
		dst = append(dst, ' ')
		dst = append(dst, l...)
	}
	return append(dst, ')')
}

// configValue is v as the inside of a quoted curl config string: literal
// text escaped now, each variable copied into a shell variable of its own
// (v1, v2, …, numbered from n) whose value prep escapes at run time.
func configValue(v value, prep []byte, n int) (value, []byte, int) {
	out := make(value, 0, len(v))
	for _, p := range v {
		switch {
		case !p.isVariable():
			out = append(out, part{Text: curlConfigEscape(p.Text)})
		case p.Var != nil && p.Enc == correlate.EncodedURL:
			out = append(out, p) // jq's @uri writes no quote, backslash or line break
		default:
			n++
			tmp := "v" + strconv.Itoa(n)
			src := p.Env
			if p.Var != nil {
				src = p.Var.Name
			}
			prep = append(prep, tmp+`=${`+src+`//"$b"/"$b$b"}; `+tmp+`=${`+tmp+`//"$q"/"$b$q"}; `+tmp+`=${`+tmp+`//$'\n'/"$b"n}; `...)
			out = append(out, part{Env: tmp})
		}
	}
	return out, prep, n
}

// curlConfigEscape escapes s for the inside of a double-quoted curl config
// parameter (tool_parsecfg.c, unslashquote): a backslash and a quote get a
// backslash, a line break (which would end the line) and a carriage
// return are written \n and \r; every other byte stands for itself. A NUL
// cannot be in a config line at all: no header value or URL holds one.
func curlConfigEscape(s string) string {
	if !strings.ContainsAny(s, "\\\"\n\r") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', '"':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// bigURLNote precedes a command whose URL comes from a config.
const bigURLNote = "# the URL is too long for a command line: curl reads it from a config (curl 8.2 or later)\n"
