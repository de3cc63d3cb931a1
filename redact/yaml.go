package redact

import (
	"errors"
	"io"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// YAML inside strings: the kubeconfig that generateKubeconfig returns in a
// JSON string, Secrets and node-driver configs pasted into fields. The YAML
// is parsed for its keys only; each secret scalar is replaced in the text
// where it stands, so the layout, comments and quoting stay as they were.

// looksYAML is a cheap test before parsing: several lines, a "key:" and
// not a document in another syntax.
func looksYAML(s string) bool {
	if len(s) > maxStructured || !strings.Contains(s, "\n") {
		return false
	}
	t := strings.TrimLeft(s, " \t\r\n")
	if t == "" || strings.ContainsRune("{[<#!", rune(t[0])) && !strings.HasPrefix(t, "#") && !strings.HasPrefix(t, "---") {
		return false
	}
	return strings.Contains(s, ": ") || strings.Contains(s, ":\n")
}

// yamlDoc redacts secret keys of the YAML documents in s; false when s is
// not a YAML mapping or sequence.
func (a *analyzer) yamlDoc(s string, es *editSet) (ok bool) {
	defer func() {
		if recover() != nil { // a parser bug must not stop redaction
			ok = false
		}
	}()
	dec := yaml.NewDecoder(strings.NewReader(s))
	var docs []*yaml.Node
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return false
		}
		if len(n.Content) == 0 || n.Content[0].Kind != yaml.MappingNode && n.Content[0].Kind != yaml.SequenceNode {
			return false
		}
		docs = append(docs, &n)
	}
	if len(docs) == 0 {
		return false
	}
	lines := lineStarts(s)
	a.pushQ("yaml")
	for _, d := range docs {
		a.yamlNode(s, lines, d.Content[0], es, false)
	}
	a.pop()
	return true
}

func lineStarts(s string) []int {
	starts := []int{0}
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

// offset converts yaml's 1-based line and column (in characters) to a
// byte offset.
func offset(s string, lines []int, line, col int) int {
	if line < 1 || line > len(lines) {
		return -1
	}
	off := lines[line-1]
	for c := 1; c < col && off < len(s); c++ {
		_, w := utf8.DecodeRuneInString(s[off:])
		off += w
	}
	return off
}

func (a *analyzer) yamlNode(s string, lines []int, n *yaml.Node, es *editSet, secretData bool) {
	switch n.Kind {
	case yaml.MappingNode:
		isSecret, envName := false, ""
		for i := 0; i+1 < len(n.Content); i += 2 {
			switch k, v := n.Content[i].Value, n.Content[i+1].Value; {
			case k == "kind" && v == "Secret", k == "type" && secretType(v):
				isSecret = true
			case k == "name" && len(n.Content) <= 8:
				if _, secret := a.key(v, nil); secret {
					envName = v // an environment variable: {name: DB_PASSWORD, value: …}
				}
			}
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			a.pushKey(k.Value)
			sd := secretData || isSecret && (k.Value == "data" || k.Value == "stringData")
			if v.Kind == yaml.ScalarNode {
				name := k.Value
				if name == "value" && envName != "" {
					name = envName
				}
				if fn := a.keyFn(name, sd); fn != nil {
					a.yamlScalar(s, lines, v, es, fn)
				}
			} else {
				a.yamlNode(s, lines, v, es, sd)
			}
			a.pop()
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			a.pushIdx(i)
			if c.Kind == yaml.ScalarNode {
				fn := a.textValue
				if secretData {
					fn = a.secretFn("secret", "secret-data", false)
				}
				a.yamlScalar(s, lines, c, es, fn)
			} else {
				a.yamlNode(s, lines, c, es, secretData)
			}
			a.pop()
		}
	}
}

// yamlScalar analyses one scalar with fn where it stands in the text. A
// scalar whose source spelling differs from its value (escapes, folding)
// is remembered as a known secret instead, and the sweep of the enclosing
// string replaces it.
func (a *analyzer) yamlScalar(s string, lines []int, n *yaml.Node, es *editSet, fn func(string, *editSet)) {
	if n.Tag != "!!str" && n.Tag != "!!binary" || n.Value == "" {
		return // numbers, booleans, null: never secret (trap N10)
	}
	off := offset(s, lines, n.Line, n.Column)
	if off < 0 {
		return
	}
	lo, hi := -1, -1
	switch n.Style {
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		if off < len(s) && (s[off] == '"' || s[off] == '\'') && strings.HasPrefix(s[off+1:], n.Value) {
			if end := off + 1 + len(n.Value); end < len(s) && s[end] == s[off] {
				lo, hi = off+1, end
			}
		}
	case 0:
		if strings.HasPrefix(s[off:], n.Value) {
			lo, hi = off, off+len(n.Value)
		}
	}
	inner := &editSet{}
	if lo < 0 {
		// Analysing the value learns its secrets; the sweep of the
		// enclosing string then finds them in the text.
		fn(n.Value, inner)
		return
	}
	fn(s[lo:hi], inner)
	es.addAll(inner, lo)
}
