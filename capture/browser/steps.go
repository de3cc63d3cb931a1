package browser

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Step is one UI action of a steps file. Fields hold the text as written in
// the file; ${NAME} references to environment variables are expanded only
// when the step runs, so that error messages never show their values.
type Step struct {
	Action   string        // navigate, click, fill, select, wait, sleep or expect
	URL      string        // navigate
	Selector string        // click, fill, select, wait; expect's optional "in"
	Value    string        // fill, select
	Text     string        // wait (optional), expect
	Duration time.Duration // sleep
	Timeout  time.Duration // per-step limit; 0 means DefaultStepTimeout
	Line     int           // line in the steps file, for messages
}

// DefaultStepTimeout bounds a step that sets no timeout of its own: long
// enough for a slow API answer, short enough that a wrong selector fails a
// CI job quickly.
const DefaultStepTimeout = 15 * time.Second

var actions = []string{"navigate", "click", "fill", "select", "wait", "sleep", "expect"}

// options lists the keys each action accepts besides its own.
var options = map[string][]string{
	"navigate": {"timeout"},
	"click":    {"timeout"},
	"fill":     {"value", "timeout"},
	"select":   {"value", "timeout"},
	"wait":     {"text", "timeout"},
	"sleep":    {},
	"expect":   {"in", "timeout"},
}

// StepsError is a problem in a steps file, at a line and step (1-based).
type StepsError struct {
	File string
	Line int
	Step int
	Msg  string
}

func (e *StepsError) Error() string {
	s := e.File
	if e.Line > 0 {
		s += fmt.Sprintf(":%d", e.Line)
	}
	if e.Step > 0 {
		s += fmt.Sprintf(": step %d", e.Step)
	}
	return s + ": " + e.Msg
}

// ParseSteps reads a steps file: a YAML or JSON list of steps, each a
// mapping with exactly one action key. name is used in errors.
func ParseSteps(name string, data []byte) ([]Step, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &StepsError{File: name, Msg: "no steps"}
		}
		return nil, &StepsError{File: name, Msg: yamlMessage(err)}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.SequenceNode {
		return nil, &StepsError{File: name, Line: root.Line, Msg: "want a list of steps, like [{navigate: /}, {click: \"#login\"}]"}
	}
	if len(root.Content) == 0 {
		return nil, &StepsError{File: name, Line: root.Line, Msg: "no steps"}
	}
	steps := make([]Step, 0, len(root.Content))
	for i, n := range root.Content {
		s, err := parseStep(n)
		if err != nil {
			line := n.Line
			var ke *keyError
			if errors.As(err, &ke) {
				line = ke.line
			}
			return nil, &StepsError{File: name, Line: line, Step: i + 1, Msg: err.Error()}
		}
		steps = append(steps, s)
	}
	return steps, nil
}

// yamlMessage shortens yaml.v3's errors ("yaml: line 3: mapping values are
// not allowed in this context") to one line without the package prefix.
func yamlMessage(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	return strings.Join(strings.Fields(msg), " ")
}

// keyError is a problem with one key of a step, reported at its line.
type keyError struct {
	line int
	msg  string
}

func (e *keyError) Error() string { return e.msg }

func keyErrorf(k *yaml.Node, format string, args ...any) error {
	return &keyError{k.Line, fmt.Sprintf(format, args...)}
}

func parseStep(n *yaml.Node) (Step, error) {
	s := Step{Line: n.Line}
	if n.Kind != yaml.MappingNode {
		return s, fmt.Errorf("want a mapping with one action (%s)", strings.Join(actions, ", "))
	}
	fields := map[string]string{}
	var keys []string
	keyNodes := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return s, keyErrorf(k, "keys must be plain names")
		}
		key := k.Value
		if _, dup := fields[key]; dup {
			return s, keyErrorf(k, "%s: given twice", key)
		}
		switch {
		case v.Kind == yaml.ScalarNode && v.Tag == "!!null":
			fields[key] = ""
		case v.Kind == yaml.ScalarNode:
			fields[key] = v.Value
		default:
			return s, keyErrorf(k, "%s: want a string", key)
		}
		keys = append(keys, key)
		keyNodes[key] = k
	}
	for _, k := range keys {
		if slices.Contains(actions, k) {
			if s.Action != "" {
				return s, keyErrorf(keyNodes[k], "two actions (%s and %s): one per step", s.Action, k)
			}
			s.Action = k
		}
	}
	if s.Action == "" {
		return s, fmt.Errorf("no action: want one of %s", strings.Join(actions, ", "))
	}
	for _, k := range keys {
		if k != s.Action && !slices.Contains(options[s.Action], k) {
			allowed := "no other keys"
			if o := options[s.Action]; len(o) > 0 {
				allowed = "only " + strings.Join(o, ", ")
			}
			return s, keyErrorf(keyNodes[k], "%s: unknown key %q (%s takes %s)", s.Action, k, s.Action, allowed)
		}
	}
	arg := fields[s.Action]
	_, hasValue := fields["value"]
	switch s.Action {
	case "navigate":
		s.URL = arg
		if arg == "" {
			return s, fmt.Errorf("navigate: missing URL")
		}
	case "click", "fill", "select", "wait":
		s.Selector = arg
		if strings.TrimSpace(arg) == "" {
			return s, fmt.Errorf("%s: missing CSS selector", s.Action)
		}
		if (s.Action == "fill" || s.Action == "select") && !hasValue {
			return s, fmt.Errorf("%s %s: missing value", s.Action, arg)
		}
		s.Value = fields["value"]
		s.Text = fields["text"]
		if _, ok := fields["text"]; ok && s.Text == "" {
			return s, fmt.Errorf("wait %s: empty text", arg)
		}
	case "expect":
		s.Text = arg
		if arg == "" {
			return s, fmt.Errorf("expect: missing text")
		}
		s.Selector = fields["in"]
		if _, ok := fields["in"]; ok && strings.TrimSpace(s.Selector) == "" {
			return s, fmt.Errorf("expect: empty in")
		}
	case "sleep":
		d, err := time.ParseDuration(arg)
		if err != nil || d < 0 {
			return s, fmt.Errorf("sleep: invalid duration %q (want e.g. 500ms or 2s)", arg)
		}
		s.Duration = d
	}
	if t, ok := fields["timeout"]; ok {
		d, err := time.ParseDuration(t)
		if err != nil || d <= 0 {
			return s, keyErrorf(keyNodes["timeout"], "%s: invalid timeout %q (want e.g. 30s)", s.Action, t)
		}
		s.Timeout = d
	}
	return s, nil
}

// String describes the step as written, for messages: "click #login",
// "fill #password". It never shows a fill or select value, which may be a
// secret.
func (s Step) String() string {
	switch s.Action {
	case "navigate":
		return "navigate " + safeURL(s.URL)
	case "sleep":
		return "sleep " + s.Duration.String()
	case "expect":
		if s.Selector != "" {
			return fmt.Sprintf("expect %q in %s", s.Text, s.Selector)
		}
		return fmt.Sprintf("expect %q", s.Text)
	case "wait":
		if s.Text != "" {
			return fmt.Sprintf("wait %s text %q", s.Selector, s.Text)
		}
	}
	return s.Action + " " + s.Selector
}

func (s Step) timeout() time.Duration {
	if s.Timeout > 0 {
		return s.Timeout
	}
	return DefaultStepTimeout
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expand replaces ${NAME} with the value of the environment variable NAME.
// An unset or empty variable is an error (naming the variable, not a
// value): a login that silently types an empty password is worse than a
// clear failure.
func expand(s string, getenv func(string) (string, bool)) (string, error) {
	var missing string
	out := envRef.ReplaceAllStringFunc(s, func(m string) string {
		name := m[2 : len(m)-1]
		v, ok := getenv(name)
		if (!ok || v == "") && missing == "" {
			missing = name
		}
		return v
	})
	if missing != "" {
		return "", fmt.Errorf("environment variable %s is not set or empty", missing)
	}
	return out, nil
}

// CheckEnv fails for the first step that names an environment variable
// that is unset or empty, as running it would, but before anything runs:
// a flow that stops half-way may have changed the server already.
func CheckEnv(file string, steps []Step, getenv func(string) (string, bool)) error {
	for i, s := range steps {
		for _, f := range []string{s.Selector, s.URL, s.Value, s.Text} {
			if _, err := expand(f, getenv); err != nil {
				return &StepsError{File: file, Line: s.Line, Step: i + 1, Msg: s.String() + ": " + err.Error()}
			}
		}
	}
	return nil
}

// ReadSteps reads and parses a steps file.
func ReadSteps(path string) ([]Step, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseSteps(path, data)
}
