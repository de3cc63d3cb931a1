package browser

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseSteps(t *testing.T) {
	tests := []struct {
		name, in string
		want     []Step
		reason   string
	}{
		{"every action in YAML", `
- navigate: /login
- fill: "#user"
  value: admin
- fill: "#password"
  value: ${DEMO_PASSWORD}
- select: "#region"
  value: eu-west
- click: "#login"
- wait: "#clusters"
  timeout: 30s
- wait: "#status"
  text: Active
- expect: Cluster created
  in: "#toast"
- sleep: 250ms
`, []Step{
			{Action: "navigate", URL: "/login", Line: 2},
			{Action: "fill", Selector: "#user", Value: "admin", Line: 3},
			{Action: "fill", Selector: "#password", Value: "${DEMO_PASSWORD}", Line: 5},
			{Action: "select", Selector: "#region", Value: "eu-west", Line: 7},
			{Action: "click", Selector: "#login", Line: 9},
			{Action: "wait", Selector: "#clusters", Timeout: 30 * time.Second, Line: 10},
			{Action: "wait", Selector: "#status", Text: "Active", Line: 12},
			{Action: "expect", Text: "Cluster created", Selector: "#toast", Line: 14},
			{Action: "sleep", Duration: 250 * time.Millisecond, Line: 16},
		}, "the documented format"},
		{"JSON", `[{"navigate": "https://x.test/"}, {"click": "button.primary", "timeout": "5s"}]`,
			[]Step{{Action: "navigate", URL: "https://x.test/", Line: 1}, {Action: "click", Selector: "button.primary", Timeout: 5 * time.Second, Line: 1}},
			"JSON is YAML, so the same parser reads it"},
		{"numbers and empty values are text", "- fill: '#n'\n  value: 42\n- fill: '#empty'\n  value:\n",
			[]Step{{Action: "fill", Selector: "#n", Value: "42", Line: 1}, {Action: "fill", Selector: "#empty", Line: 3}},
			"a YAML number is the text the user typed; an empty value clears the field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSteps("flow.yaml", []byte(tt.in))
			if err != nil {
				t.Fatalf("%s: %v", tt.reason, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("%s: ParseSteps mismatch (-want +got):\n%s", tt.reason, diff)
			}
		})
	}
}

func TestParseStepsErrors(t *testing.T) {
	tests := []struct {
		name, in, want, reason string
	}{
		{"empty", "", "flow.yaml: no steps", "an empty file is a mistake, not a no-op"},
		{"empty list", "[]", "flow.yaml:1: no steps", ""},
		{"not a list", "navigate: /", "flow.yaml:1: want a list of steps", "a single mapping is a common slip"},
		{"no action", "- value: x", "flow.yaml:1: step 1: no action: want one of navigate, click, fill, select, wait, sleep, expect", ""},
		{"two actions", "- click: '#a'\n  wait: '#b'", "flow.yaml:2: step 1: two actions (click and wait): one per step", "the line of the second action"},
		{"unknown key", "- navigate: /\n- click: '#a'\n  value: x", `flow.yaml:3: step 2: click: unknown key "value" (click takes only timeout)`, "value only makes sense for fill and select; the line of the key"},
		{"missing selector", "- click:", "flow.yaml:1: step 1: click: missing CSS selector", ""},
		{"missing value", "- fill: '#a'", "flow.yaml:1: step 1: fill #a: missing value", "a fill without a value would silently clear the field"},
		{"bad duration", "- sleep: forever", `flow.yaml:1: step 1: sleep: invalid duration "forever" (want e.g. 500ms or 2s)`, ""},
		{"bad timeout", "- click: '#a'\n  timeout: -1s", `flow.yaml:2: step 1: click: invalid timeout "-1s" (want e.g. 30s)`, ""},
		{"list value", "- click: [a, b]", "flow.yaml:1: step 1: click: want a string", ""},
		{"not a mapping", "- click", "flow.yaml:1: step 1: want a mapping with one action", ""},
		{"yaml syntax", "- click: '#a\n", "flow.yaml: ", "the parser's message, on one line"},
		{"duplicate key", "- click: '#a'\n  click: '#b'", "flow.yaml:2: step 1: click: given twice", ""},
		{"expect without text", "- expect:", "flow.yaml:1: step 1: expect: missing text", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSteps("flow.yaml", []byte(tt.in))
			if err == nil {
				t.Fatalf("no error; want %q (%s)", tt.want, tt.reason)
			}
			var se *StepsError
			if !errors.As(err, &se) {
				t.Errorf("error %T, want *StepsError", err)
			}
			if !strings.HasPrefix(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q, want one line starting %q (%s)", err, tt.want, tt.reason)
			}
		})
	}
}

func TestStepString(t *testing.T) {
	s := Step{Action: "fill", Selector: "#password", Value: "hunter2"}
	if got := s.String(); strings.Contains(got, "hunter2") || got != "fill #password" {
		t.Errorf("String() = %q: a fill value may be a secret and must never be shown", got)
	}
}

func TestExpand(t *testing.T) {
	env := map[string]string{"USER": "admin", "EMPTY": ""}
	getenv := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	tests := []struct{ in, want, err string }{
		{"${USER}", "admin", ""},
		{"user=${USER}&x=${USER}", "user=admin&x=admin", ""},
		{"${EMPTY}", "", "environment variable EMPTY is not set or empty"},
		{"$USER and $$ stay", "$USER and $$ stay", ""},
		{"${NOPE}", "", "environment variable NOPE is not set or empty"},
	}
	for _, tt := range tests {
		got, err := expand(tt.in, getenv)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("expand(%q) error %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("expand(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// FuzzParseSteps: the parser never panics, every error is one line naming
// the file, and a parsed list written back in the file format parses to the
// same steps.
func FuzzParseSteps(f *testing.F) {
	for _, s := range []string{
		"- navigate: /\n- click: '#a'\n",
		"- fill: '#u'\n  value: ${USER}\n- select: '#r'\n  value: eu\n",
		"- wait: '#s'\n  text: Active\n  timeout: 3s\n- expect: done\n  in: body\n- sleep: 1ms\n",
		`[{"navigate": "https://x.test/a?b=c"}, {"click": "a[href='/x']"}]`,
		"- click: \"#a\\u0000\"\n",
		"- {click: x, timeout: 1h}\n",
		"&a [*a]",
		"- !!binary aGk=\n",
		"- wait: '#x'\n  text: \"\\t\\u2028\"\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		steps, err := ParseSteps("f.yaml", data)
		if err != nil {
			if msg := err.Error(); !strings.HasPrefix(msg, "f.yaml") || strings.Contains(msg, "\n") {
				t.Fatalf("error %q: want one line starting with the file name", msg)
			}
			return
		}
		again, err := ParseSteps("f.yaml", formatSteps(steps))
		if err != nil {
			t.Fatalf("reparse of %q: %v", formatSteps(steps), err)
		}
		for i := range steps {
			steps[i].Line, again[i].Line = 0, 0
		}
		if diff := cmp.Diff(steps, again); diff != "" {
			t.Fatalf("round trip mismatch (-first +second):\n%s", diff)
		}
	})
}

// TestDocExample parses the steps file shown in the package documentation,
// so the documentation cannot drift from the parser.
func TestDocExample(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var yaml []string
	in := false
	for _, l := range strings.Split(string(src), "\n") {
		switch {
		case l == "//\t# flow.yaml":
			in = true
		case in && strings.HasPrefix(l, "//\t"):
			yaml = append(yaml, strings.TrimPrefix(l, "//\t"))
		case in:
			in = false
		}
	}
	steps, err := ParseSteps("doc.go", []byte(strings.Join(yaml, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range steps {
		got = append(got, s.Action)
	}
	if strings.Join(got, " ") != "navigate fill select click wait wait expect sleep" {
		t.Errorf("the documented example parses to %v", got)
	}
}

// formatSteps writes steps back as JSON in the file format; the fuzz test
// uses it to check that parsing is a faithful inverse.
func formatSteps(steps []Step) []byte {
	var b bytes.Buffer
	b.WriteString("[\n")
	for i, s := range steps {
		var kv []string
		add := func(k, v string) { kv = append(kv, fmt.Sprintf("%s: %s", jsonString(k), jsonString(v))) }
		switch s.Action {
		case "navigate":
			add("navigate", s.URL)
		case "sleep":
			add("sleep", s.Duration.String())
		case "expect":
			add("expect", s.Text)
			if s.Selector != "" {
				add("in", s.Selector)
			}
		default:
			add(s.Action, s.Selector)
			if s.Action == "fill" || s.Action == "select" {
				add("value", s.Value)
			}
			if s.Text != "" {
				add("text", s.Text)
			}
		}
		if s.Timeout > 0 {
			add("timeout", s.Timeout.String())
		}
		b.WriteString("  {" + strings.Join(kv, ", ") + "}")
		if i < len(steps)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("]\n")
	return b.Bytes()
}

func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f || r == 0x85 || r == 0x2028 || r == 0x2029 || r == 0xfeff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func TestCheckEnv(t *testing.T) {
	steps, err := ParseSteps("flow.yaml", []byte("- navigate: ${BASE}/login\n- fill: \"#user\"\n  value: ${USER_NAME}\n- expect: Hello ${USER_NAME}\n  in: \"${AREA}\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"BASE": "http://x", "USER_NAME": "admin", "AREA": "#s"}, ""},
		{map[string]string{"USER_NAME": "admin", "AREA": "#s"}, "flow.yaml:1: step 1: navigate ${BASE}/login: environment variable BASE is not set or empty"},
		{map[string]string{"BASE": "http://x", "USER_NAME": "", "AREA": "#s"}, "flow.yaml:2: step 2: fill #user: environment variable USER_NAME is not set or empty"},
		{map[string]string{"BASE": "http://x", "USER_NAME": "admin"}, `flow.yaml:4: step 3: expect "Hello ${USER_NAME}" in ${AREA}: environment variable AREA is not set or empty`},
	} {
		getenv := func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok }
		err := CheckEnv("flow.yaml", steps, getenv)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("env %v: got %q, want %q", tt.env, got, tt.want)
		}
	}
}
