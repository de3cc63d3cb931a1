package main

import (
	"context"

	"github.com/apitape/apitape/convert"
)

const inspectUsage = `Usage:
    apitape inspect [FILE|-] [-o FILE] [--var NAME=SOURCE@CALL] [flags]

Shows the values a recorded session's later calls take from earlier
answers: for each, its name, the call whose answer produced it and where
(a JSON path, a header, a cookie), the evidence (which call first received
it, which first sent it; WEAK when the binding may be wrong, e.g. a value
taken from a list), and every call and field that uses it.
This is what apitape convert chains in bash and Go (the same as
apitape convert --to vars); check it before you run the output. Secret
values show only their length, unless --no-redact or --exact skips the
redaction stage: then values show as recorded, except those the analysis
itself takes for secrets (a token, a cookie, a credential header's value),
which still show only their length.

Options:
    -o, --output FILE   write here instead of stdout (mode 0600)
        --exact         as convert --exact: nothing is taken from answers
                        but what --var declares, and no redaction stage
        --no-redact     do not run the redaction stage first
        --gitleaks-config FILE
                        as convert: the redaction stage's token rules from
                        this gitleaks config (default: .gitleaks.toml in the
                        current folder, if there is one)
        --no-correlate  show only the values --var declares
        --no-var NAME   leave out one variable (repeatable), as convert does
        --var NAME=SOURCE@CALL
                        add a value the analysis missed (repeatable): SOURCE
                        is a JSON path (.data[0].id), header:NAME or
                        cookie:NAME; CALL is the entry index of the call
                        whose answer holds it

` + selectionUsage + `
Examples:
    apitape inspect session.har
    apitape inspect session.har --var POOL_ID=.data[0].id@7
    apitape redact session.har | apitape inspect -
`

func runInspect(ctx context.Context, st *streams, args []string) error {
	fs := newFlagSet("inspect")
	outPath := fs.StringP("output", "o", "", "output file (default stdout)")
	exact := fs.Bool("exact", false, "keep credential headers as recorded")
	cf := addConvertFlags(fs)
	if err := parseInputFlags(st, fs, inspectUsage, args); err != nil {
		return err
	}
	opts := convert.Options{Format: "vars", Exact: *exact}
	if err := cf.apply(&opts); err != nil {
		return err
	}
	return convertFile(ctx, st, "inspect", fs.Arg(0), []outputFile{{"vars", *outPath}}, opts)
}
