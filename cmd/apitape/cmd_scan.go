package main

import (
	"bufio"
	"context"
	"fmt"
	"io"

	"github.com/apitape/apitape/internal/progress"
	"github.com/apitape/apitape/redact"
)

const scanUsage = `Usage:
    apitape scan [FILE|-]... [flags]

Looks for secrets in HAR files and in the scripts made from them (curl,
bash, Go, or any text) with the rules redact uses, and prints one line per
finding: the file, the entry (HAR) or line (text), where in it, and the
rule that fired. Never the value. A file is read as a HAR when it starts
like one; anything else is read as text. Placeholders (REDACTED-…) and the
variables that stand for them (${APITAPE_SECRET_…}) are not findings.

Exit status: 0 when nothing is found, 1 when something is (or a file cannot
be read), 2 for a usage error.

Options:
        --rules FILE   the rules file given to redact (more names, patterns,
                       names to keep)

Examples:
    apitape scan shared.har
    apitape scan shared.har provision.sh main.go
    apitape convert shared.har --to bash | apitape scan -
    apitape scan session.har || apitape redact session.har -o shared.har
`

func scanCommand() *command {
	return &command{
		name:    "scan",
		summary: "find secrets left in HAR files and scripts",
		usage:   scanUsage,
		run:     runScan,
		batch:   true,
	}
}

func runScan(ctx context.Context, st *streams, args []string) error {
	fs := newFlagSet("scan")
	rulesPath := fs.String("rules", "", "rules file (YAML or JSON)")
	if err := parseFlags(st, fs, scanUsage, args); err != nil {
		return usageFor("scan", err)
	}
	files := fs.Args()
	if len(files) == 0 {
		files = []string{"-"}
	}
	stdin := 0
	for _, f := range files {
		if f == "-" {
			stdin++
		}
	}
	if stdin > 1 {
		return usageFor("scan", usageErrorf("standard input (-) can be scanned only once"))
	}
	var rules *redact.Rules
	if *rulesPath != "" {
		var err error
		if rules, err = redact.LoadRules(*rulesPath); err != nil {
			return err
		}
	}
	found, failed := 0, false
	meter := newFileMeter(st, "scan")
	defer meter.Stop()
	for _, arg := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := scanOne(st, meter, arg, rules)
		found += n
		if err != nil {
			meter.Clear()
			errorf(st, "%v", err)
			failed = true
		}
	}
	meter.Done(-1, -1)
	if found > 0 || failed {
		return &exitError{code: 1}
	}
	return nil
}

// scanOne scans one file with a fresh Scanner (a Scanner remembers the
// secrets it found, to find their echoes, within one file).
func scanOne(st *streams, meter *progress.Meter, arg string, rules *redact.Rules) (int, error) {
	rc, name, err := openInput(st, arg)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	s, err := redact.NewScanner(rules)
	if err != nil {
		return 0, err
	}
	br := bufio.NewReaderSize(meter.Reader(rc), 64<<10)
	var findings []redact.Finding
	if redact.Sniff(br) {
		findings, err = s.ScanHAR(br, name)
	} else {
		findings, err = s.ScanText(io.Reader(br), name)
	}
	meter.Clear()
	for _, f := range findings {
		fmt.Fprintln(st.out, f)
	}
	meter.Add(1, 0)
	return len(findings), err
}
