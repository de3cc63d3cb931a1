package replay

import (
	"encoding/xml"
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// The JUnit XML written by WriteJUnit follows the schema Jenkins, GitLab,
// GitHub test reporters and most CI systems read (Jenkins xunit-plugin
// junit-10.xsd): <testsuites> holding one <testsuite> with the required
// name/tests/failures/errors attributes, one <testcase> per call, and per
// testcase one <failure> per failing difference, an <error> when the call
// got no answer, or <skipped>.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr"`
	Hostname   string          `xml:"hostname,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string         `xml:"name,attr"`
	Classname string         `xml:"classname,attr"`
	Time      string         `xml:"time,attr"`
	Skipped   *junitMessage  `xml:"skipped,omitempty"`
	Errors    []junitMessage `xml:"error"`
	Failures  []junitMessage `xml:"failure"`
	SystemOut string         `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Type    string `xml:"type,attr,omitempty"`
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

func seconds(ms float64) string { return fmt.Sprintf("%.3f", ms/1000) }

// WriteJUnit writes the result as JUnit XML for CI systems.
func WriteJUnit(w io.Writer, res *Result) error {
	src := res.Source
	if src == "" {
		src = "recording"
	}
	class := "apitape.replay." + strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			return r
		}
		return '_'
	}, strings.TrimSuffix(filepath.Base(src), filepath.Ext(src)))
	suite := junitSuite{
		Name:      fmt.Sprintf("replay of %s against %s", src, res.Target),
		Time:      seconds(res.DurationMS),
		Timestamp: res.Started.Format("2006-01-02T15:04:05"),
		Hostname:  hostOf(res.Target),
		Properties: []junitProperty{
			{Name: "source", Value: src},
			{Name: "target", Value: res.Target},
			{Name: "failOn", Value: string(res.FailOn)},
			{Name: "noiseRuns", Value: fmt.Sprint(res.NoiseRuns)},
		},
	}
	for _, c := range res.Calls {
		tc := junitCase{
			Name:      fmt.Sprintf("%d %s %s", c.Index, c.Method, c.Path),
			Classname: class,
			Time:      seconds(c.DurationMS),
		}
		suite.Tests++
		switch c.Outcome {
		case Skipped:
			tc.Skipped = &junitMessage{Message: c.Skipped}
			suite.Skipped++
		case Error:
			tc.Errors = append(tc.Errors, junitMessage{Type: c.Error.Kind, Message: c.Error.Message, Text: affected(c)})
			suite.Errors++
		}
		var out []string
		for _, d := range c.Differences {
			text := diffText(d)
			if !d.Failing {
				out = append(out, d.Path+": "+text)
				continue
			}
			tc.Failures = append(tc.Failures, junitMessage{Type: d.Kind, Message: d.Path + ": " + d.Change, Text: text + affected(c)})
		}
		if len(tc.Failures) > 0 {
			suite.Failures++
		}
		for _, ig := range c.Ignored {
			out = append(out, "ignored "+ig.Path+" ("+ig.Rule+")")
		}
		out = append(out, c.Notes...)
		tc.SystemOut = strings.Join(out, "\n")
		suite.Cases = append(suite.Cases, tc)
	}
	doc := junitSuites{
		Name: "apitape replay", Tests: suite.Tests, Failures: suite.Failures, Errors: suite.Errors,
		Time: suite.Time, Suites: []junitSuite{suite},
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func affected(c *Call) string {
	if c.AffectedBy == nil {
		return ""
	}
	return fmt.Sprintf("\n(probably because entry %d failed first)", *c.AffectedBy)
}

// diffText is a difference in a few lines of plain text.
func diffText(d Difference) string {
	switch {
	case d.Change == "missing":
		return "missing, recorded " + short(d.Recorded)
	case d.Change == "extra":
		return "extra, live " + short(d.Live)
	case d.Diff != "":
		return d.Diff
	case d.Change == "invalid-json":
		return fmt.Sprint(d.Live)
	}
	return "recorded " + short(d.Recorded) + ", live " + short(d.Live)
}

func hostOf(u string) string {
	if t, err := parseTarget(u); err == nil {
		return t.host
	}
	return u
}
