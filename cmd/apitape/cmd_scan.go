package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/apitape/apitape/internal/english"
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

A body that cannot be inspected (invalid base64, a compressed body that does
not inflate within 64 MiB) is a finding too, unless --allow-uninspected. A
file in UTF-16 with a byte order mark (PowerShell 5's >) is decoded and a
gzip file inflated; a file that is not text in any of these is never called
clean.

Exit status: 0 when nothing is found, 1 when something is (or a HAR is
malformed), 2 when a file cannot be read as text, or for a usage error.

Options:
        --rules FILE             the rules file given to redact (more names,
                                 patterns, names to keep)
        --gitleaks-config FILE   token rules from this gitleaks config instead
                                 of gitleaks' defaults (default: .gitleaks.toml
                                 in the current folder, if there is one)
        --allow-uninspected      do not count bodies that cannot be inspected

Examples:
    apitape scan shared.har
    apitape scan shared.har provision.sh main.go
    apitape convert shared.har --to bash | apitape scan -
    apitape scan session.har || apitape redact session.har -o shared.har
`

func runScan(ctx context.Context, st *streams, args []string) error {
	fs := newFlagSet("scan")
	rulesPath := fs.String("rules", "", "rules file (YAML or JSON)")
	gitleaksPath := fs.String("gitleaks-config", "", "gitleaks config (TOML)")
	allowUninspected := fs.Bool("allow-uninspected", false, "do not count bodies that cannot be inspected")
	if err := parseFlags(st, fs, scanUsage, args); err != nil {
		return err
	}
	files := fs.Args()
	if len(files) == 0 {
		files = []string{"-"}
	}
	if i := slices.Index(files, "-"); i >= 0 && slices.Contains(files[i+1:], "-") {
		return usageErrorf("standard input (-) can be scanned only once")
	}
	rules, err := loadRules(*rulesPath, *gitleaksPath)
	if err != nil {
		return err
	}
	found, failed, unreadable := 0, false, false
	meter := newFileMeter(st, "scan")
	defer meter.Stop()
	for _, arg := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := scanOne(ctx, st, meter, arg, rules, *allowUninspected)
		found += n
		if ctx.Err() != nil {
			break // "interrupted", not the read error it caused
		}
		if err != nil {
			meter.Clear()
			errorf(st, "%v", err)
			failed = true
			unreadable = unreadable || errors.Is(err, redact.ErrUnreadable)
		}
	}
	// The verdict in words at the end of the summary (stdout holds the
	// findings only, so that an empty stdout still means clean).
	verdict := "clean, nothing secret found"
	switch {
	case found > 0:
		verdict = english.Count(found, "finding", "")
	case failed:
		verdict = "not all read"
	}
	if ctx.Err() != nil {
		verdict = ""
	}
	meter.DoneSaying(-1, -1, verdict)
	if err := ctx.Err(); err != nil {
		return err
	}
	switch {
	case unreadable:
		hintf(st, "a file that cannot be read is never reported clean: save it as UTF-8 (or UTF-16 with a byte order mark, or gzip)")
		return &exitError{code: 2}
	case found > 0 || failed:
		return &exitError{code: 1}
	}
	return nil
}

// loadRules reads a rules file and a gitleaks config (either may be
// empty); without --gitleaks-config, a .gitleaks.toml in the current
// folder is used as gitleaks itself would.
func loadRules(rulesPath, gitleaksPath string) (*redact.Rules, error) {
	rules := &redact.Rules{}
	if rulesPath != "" {
		var err error
		if rules, err = redact.LoadRules(rulesPath); err != nil {
			return nil, err
		}
	}
	if gitleaksPath == "" {
		if fi, err := os.Stat(".gitleaks.toml"); err == nil && fi.Mode().IsRegular() {
			gitleaksPath = ".gitleaks.toml"
		}
	}
	if gitleaksPath != "" {
		if err := rules.LoadGitleaksConfig(gitleaksPath); err != nil {
			return nil, err
		}
	}
	return rules, nil
}

// scanOne scans one file with a fresh Scanner (a Scanner remembers the
// secrets it found, to find their echoes, within one file).
func scanOne(ctx context.Context, st *streams, meter *progress.Meter, arg string, rules *redact.Rules, allowUninspected bool) (int, error) {
	rc, name, err := openRaw(st, arg)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	s, err := redact.NewScanner(rules)
	if err != nil {
		return 0, err
	}
	s.AllowUninspected = allowUninspected
	// Reading stops at Ctrl-C, so a huge file is never called clean after it.
	br, err := redact.OpenText(meter.Reader(convertCtxReader{ctx, rc}), name)
	if err != nil {
		return 0, err
	}
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
