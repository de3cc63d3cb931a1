package convert

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/apitape/apitape/internal/testtool"
)

// An evaluator is a python3 or node process that reads one generated
// literal per line (JSON-encoded) and answers "ok HEX" with the bytes of
// its value, or "err MESSAGE": the real interpreters' parsers judge the
// quoting functions, at the cost of one line each way.
type evaluator struct {
	in  io.WriteCloser
	out *bufio.Reader
}

// Python's ast.literal_eval parses and never runs code.
const pyEvaluator = `
import ast, json, sys
for line in sys.stdin:
    try:
        v = ast.literal_eval("(" + json.loads(line)["src"] + "\n)")
        if isinstance(v, str):
            v = v.encode("utf-8")
        if not isinstance(v, bytes):
            raise TypeError(type(v).__name__)
        print("ok " + v.hex(), flush=True)
    except Exception as e:
        print("err " + repr(e).replace("\n", " "), flush=True)
`

// node evaluates in a context of its own, with no require or process: a
// literal that the quoting got wrong cannot reach anything.
const nodeEvaluator = `
const vm = require("vm");
require("readline").createInterface({ input: process.stdin }).on("line", (line) => {
  const q = JSON.parse(line);
  try {
    const v = vm.runInNewContext("(" + q.src + "\n)", Object.create(null));
    if (typeof v !== "string") throw new Error("not a string: " + typeof v);
    let bytes;
    if (q.binary) {
      bytes = Buffer.from(Array.from(v, (c) => { const n = c.charCodeAt(0); if (n > 255) throw new Error("char " + n); return n; }));
    } else {
      bytes = Buffer.from(v, "utf8");
    }
    console.log("ok " + bytes.toString("hex"));
  } catch (e) {
    console.log("err " + String(e).replace(/\n/g, " "));
  }
});
`

func startEvaluator(t testing.TB, args ...string) *evaluator {
	t.Helper()
	cmd := exec.Command(args[0], args[1:]...)
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		in.Close()
		cmd.Wait()
	})
	return &evaluator{in: in, out: bufio.NewReader(out)}
}

// eval returns the bytes of the literal's value.
func (e *evaluator) eval(src string, binary bool) ([]byte, error) {
	q, _ := json.Marshal(struct {
		Src    string `json:"src"`
		Binary bool   `json:"binary"`
	}{src, binary})
	if _, err := e.in.Write(append(q, '\n')); err != nil {
		return nil, err
	}
	line, err := e.out.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimSuffix(line, "\n")
	if v, ok := strings.CutPrefix(line, "ok "); ok {
		return hex.DecodeString(v)
	}
	return nil, fmt.Errorf("%s", line)
}

// quoteSeeds are the strings quoting gets wrong first.
var quoteSeeds = []string{
	"", "plain", `'`, `"`, `\`, `\'`, `\\'`, `'''`, `"""`, "`${x}`", "$HOME $(id)",
	"\n", "\r\n", "\t", "\x00", "a\x00b", "\x01\x1f\x7f", "\x80\xff", "\xc3", "\xed\xa0\x80",
	"é ☃ 日本 🚀", "\u0085\u2028\u2029\ufeff", "\\x41 \\u0041 \\N{DASH}", "{\"a\":\"it's\"}\n",
	strings.Repeat("line one\nline two\r\n", 10), "%s %d %%", "\ufffd", "\x1b[0m",
}

func pyEval(t testing.TB) *evaluator {
	return startEvaluator(t, pythonWith(t, "ast"), "-c", pyEvaluator)
}

// FuzzPyBytes: a Python bytes literal holds exactly the bytes it quotes.
func FuzzPyBytes(f *testing.F) {
	for _, s := range quoteSeeds {
		f.Add(s)
	}
	ev := pyEval(f)
	f.Fuzz(func(t *testing.T, s string) {
		lit := appendPyBytes(nil, s)
		if !utf8.Valid(lit) || strings.ContainsRune(string(lit), '\r') {
			t.Fatalf("literal for %q is not plain UTF-8 source: %q", s, lit)
		}
		got, err := ev.eval(string(lit), true)
		if err != nil || string(got) != s {
			t.Fatalf("python3 reads %s as %q (%v), want %q", lit, got, err, s)
		}
	})
}

// FuzzPyStr: a Python str literal holds the text it quotes (bytes that
// are not UTF-8 as U+FFFD).
func FuzzPyStr(f *testing.F) {
	for _, s := range quoteSeeds {
		f.Add(s)
	}
	ev := pyEval(f)
	f.Fuzz(func(t *testing.T, s string) {
		lit := appendPyStr(nil, s)
		if strings.ContainsAny(string(lit), "\n\r") {
			t.Fatalf("literal for %q spans lines: %q", s, lit)
		}
		got, err := ev.eval(string(lit), false)
		if want := strings.ToValidUTF8(s, "\uFFFD"); err != nil || string(got) != want {
			t.Fatalf("python3 reads %s as %q (%v), want %q", lit, got, err, want)
		}
	})
}

// FuzzJSString: a JavaScript string literal holds the text it quotes, or
// with binary one character per byte.
func FuzzJSString(f *testing.F) {
	for _, s := range quoteSeeds {
		f.Add(s, false)
		f.Add(s, true)
	}
	ev := startEvaluator(f, testtool.Need(f, "node"), "-e", nodeEvaluator)
	f.Fuzz(func(t *testing.T, s string, binary bool) {
		lit := appendJSString(nil, s, binary)
		if strings.ContainsAny(string(lit), "\n\r\u2028\u2029") {
			t.Fatalf("literal for %q spans lines: %q", s, lit)
		}
		got, err := ev.eval(string(lit), binary)
		want := s
		if !binary {
			want = strings.ToValidUTF8(s, "\uFFFD")
		}
		if err != nil || string(got) != want {
			t.Fatalf("node reads %s as %q (%v), want %q", lit, got, err, want)
		}
	})
}

// FuzzHTTPieHeader: the item HTTPie's own parser makes of a header is
// the recorded name and value, unless the value has a backslash HTTPie
// takes for an escape (which the output says in a comment).
func FuzzHTTPieHeader(f *testing.F) {
	for _, s := range quoteSeeds {
		f.Add(s)
	}
	f.Add("=json")
	f.Add("@file")
	f.Add(":=x")
	f.Add(`a\=b`)
	f.Add(`a\\=b`)
	py := pythonWith(f, "httpie")
	ev := startEvaluator(f, py, "-c", `
import json, shlex, sys
from httpie.cli.argtypes import KeyValueArgType
from httpie.cli.constants import SEPARATOR_GROUP_ALL_ITEMS
parse = KeyValueArgType(*SEPARATOR_GROUP_ALL_ITEMS)
for line in sys.stdin:
    try:
        words = shlex.split(json.loads(line)["src"])
        item = parse(words[0])
        print("ok " + (item.sep + "|" + item.key + "|" + item.value).encode("utf-8", "surrogateescape").hex(), flush=True)
    except Exception as e:
        print("err " + repr(e).replace("\n", " "), flush=True)
`)
	f.Fuzz(func(t *testing.T, v string) {
		if !utf8.ValidString(v) || strings.ContainsFunc(v, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			return // a header value cannot hold these (or shlex cannot read $'…')
		}
		h := header{"X-Test", literal(v)}
		if httpieDropsBackslash(h.value) {
			return
		}
		word := appendHTTPieHeader(nil, h)
		if strings.Contains(string(word), "$'") {
			return // bash's $'…', which shlex does not read; the bash parser checks it
		}
		got, err := ev.eval(string(word), false)
		want := ":|X-Test|" + v
		if v == "" {
			want = ";|X-Test|"
		}
		if err != nil || string(got) != want {
			t.Fatalf("HTTPie parses %s as %q (%v), want %q", word, got, err, want)
		}
	})
}
