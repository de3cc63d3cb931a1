package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/apitape/apitape/convert"
	"github.com/apitape/apitape/har"
)

const convertUsage = `Usage:
    apitape convert [FILE|-] --to curl|bash|go [-o FILE] [flags]

Turns the recorded calls of a HAR file (or stdin) into curl commands, a bash
script or a Go program that send exactly the recorded bytes: method, raw
path and query, every header in order, and the body byte for byte.

Options:
    -t, --to FORMAT     curl: one paste-ready command per call
                        bash: one script; BASE_URL from the environment, each
                              call checked, answers kept in files
                        go:   one Go program (standard library only)
    -o, --output FILE   write here instead of stdout (bash: mode 0700,
                        curl and go: 0600)
        --base-url URL  send every call to this scheme://host[:port][/prefix]
                        instead of the recorded one (path and query kept)
        --exact         keep every recorded header and value byte for byte;
                        default: credentials (Cookie, Authorization, CSRF
                        headers) become environment variables (COOKIE,
                        AUTHORIZATION, CSRF_TOKEN; RANCHER_TOKEN for a
                        Rancher session) and browser-only headers
                        (sec-fetch-*, referer, cache validators, …) are dropped
        --no-redact     do not run the redaction stage first

` + selectionUsage + `
Redaction placeholders (REDACTED-<class>-<hex>) always become variables
named APITAPE_SECRET_<CLASS>_<HEX>. WebSocket entries are listed as comments.

Examples:
    apitape convert session.har --to curl
    apitape convert session.har --to bash -o provision.sh
    BASE_URL=https://staging.example COOKIE='R_SESS=…' ./provision.sh
    apitape convert session.har --to go -o main.go --base-url http://127.0.0.1:8080
    apitape redact session.har | apitape convert - --to curl --method POST,PUT
    apitape convert session.har --to curl --entries 3 --exact
`

func convertCommand() *command {
	return &command{
		name:    "convert",
		summary: "turn recorded calls into curl commands, a bash script or a Go program",
		usage:   convertUsage,
		run:     runConvert,
	}
}

// convertRedactor is the redaction stage convert runs first unless
// --no-redact is given; nil until package redact is wired in.
// TODO(lead): set from package redact.
var convertRedactor func() func(index int, raw []byte) ([]byte, error)

func runConvert(ctx context.Context, st *streams, args []string) error {
	fs := newFlagSet("convert")
	to := fs.StringP("to", "t", "", "output format: curl, bash or go")
	outPath := fs.StringP("output", "o", "", "output file (default stdout)")
	baseURL := fs.String("base-url", "", "send the calls to this base URL")
	exact := fs.Bool("exact", false, "keep every recorded header and value")
	noRedact := fs.Bool("no-redact", false, "do not redact first")
	sel := addSelectionFlags(fs)
	if err := parseFlags(st, fs, convertUsage, args); err != nil {
		return usageFor("convert", err)
	}
	// Every argument is checked before any file is opened.
	if fs.NArg() > 1 {
		return usageFor("convert", usageErrorf("convert takes one input file, got %d", fs.NArg()))
	}
	var names []string
	for _, f := range convert.Formats() {
		names = append(names, f.Name)
	}
	switch {
	case *to == "":
		return usageFor("convert", usageErrorf("--to is required: %s", strings.Join(names, ", ")))
	case !slices.Contains(names, *to):
		return usageFor("convert", usageErrorf("--to %q: want %s", *to, strings.Join(names, ", ")))
	}
	opts := convert.Options{Format: *to, Exact: *exact}
	if *baseURL != "" {
		if _, err := convert.CheckBaseURL(*baseURL); err != nil {
			return usageFor("convert", usageErrorf("--base-url: %v", err))
		}
		opts.BaseURL = *baseURL
	}
	s, err := sel.selection()
	if err != nil {
		return usageFor("convert", err)
	}
	opts.Selection = s
	if !*noRedact && convertRedactor != nil {
		opts.Redact = convertRedactor()
	}

	in, name, err := openInput(st, fs.Arg(0))
	if err != nil {
		return err
	}
	defer in.Close()
	opts.Name = name
	// A script is meant to be run; 0700 still keeps it private, since
	// --exact output may hold live credentials. The others may too: 0600.
	perm := os.FileMode(0o600)
	if *to == "bash" {
		perm = 0o700
	}
	out, err := createOutput(st, *outPath, perm)
	if err != nil {
		return err
	}
	defer out.abort()
	r := har.NewReader(convertCtxReader{ctx, in}, name)
	stats, err := convert.Convert(r, out, opts)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	if err := out.commit(); err != nil {
		return fmt.Errorf("%s: %w", *outPath, unwrapPathError(err))
	}
	if stats.Converted == 0 {
		warningf(st, "%s: no calls converted (%d entries read, %d left out by the selection)", name, stats.Entries, stats.Skipped)
		if !s.All && stats.Entries > 0 {
			hintf(st, "only API calls are kept by default; use --all to keep every entry")
		}
	}
	if !*exact && stats.NoCredentials > 0 && stats.NoCredentials == stats.Converted {
		warningf(st, "%s: no call carries a Cookie or Authorization header; the output sends them without credentials", name)
		hintf(st, "browsers export sanitized HAR files by default (Chrome 130 and later): export with sensitive data, or add the headers yourself")
	}
	return nil
}

// convertCtxReader stops reading when the command is interrupted, so a
// huge input does not keep converting after Ctrl-C.
type convertCtxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c convertCtxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
