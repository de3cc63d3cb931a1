package main

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"slices"
	"strings"
	"unicode/utf16"

	"github.com/apitape/apitape/internal/harschema"
	"github.com/apitape/apitape/internal/testtool"
	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	// Vendor shapes for the gitleaks scripts, made here like the others.
	canaryValues["NPM_TOKEN"] = "npm_" + fill("npm", "abcdefghijklmnopqrstuvwxyz0123456789", 36)
	canaryValues["HF_TOKEN"] = "hf_" + fill("hf", "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", 34)
	canaryValues["ACME_TOKEN"] = "acme_" + fill("acme", "abcdefghijklmnopqrstuvwxyz0123456789", 30)
	scriptCmds["encode"] = cmdEncode
	scriptCmds["har-valid"] = cmdHARValid
}

// cmdEncode writes a file in another encoding: encode utf16|utf16-nobom|gzip IN OUT
// (UTF-16 little endian with a byte order mark, as PowerShell 5's > does).
func cmdEncode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: encode utf16|utf16-nobom|gzip IN OUT")
	}
	in := ts.ReadFile(args[1])
	var b bytes.Buffer
	switch args[0] {
	case "utf16", "utf16-nobom":
		if args[0] == "utf16" {
			b.Write([]byte{0xFF, 0xFE})
		}
		for _, u := range utf16.Encode([]rune(in)) {
			b.WriteByte(byte(u))
			b.WriteByte(byte(u >> 8))
		}
	case "gzip":
		zw := gzip.NewWriter(&b)
		zw.Write([]byte(in))
		zw.Close()
	default:
		ts.Fatalf("encode: unknown encoding %q", args[0])
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[2]), b.Bytes(), 0o600))
}

// cmdHARValid checks files against npm's har-validator (an independent
// HAR 1.2 schema): har-valid FILE... fails on any schema error;
// har-valid -like IN OUT fails unless OUT has exactly IN's errors (valid
// wherever IN was). Without node and har-validator it logs and passes
// locally, and fails under CI.
func cmdHARValid(ts *testscript.TestScript, neg bool, args []string) {
	like := len(args) == 3 && args[0] == "-like"
	if like {
		args = args[1:]
	}
	if neg || len(args) == 0 {
		ts.Fatalf("usage: har-valid FILE... | har-valid -like IN OUT")
	}
	var files []string
	for _, a := range args {
		files = append(files, ts.MkAbs(a))
	}
	res, err := harschema.Check(files...)
	if errors.Is(err, harschema.ErrMissing) {
		if testtool.InCI() {
			ts.Fatalf("CI=true but %v", err)
		}
		ts.Logf("not checked: %v", err)
		return
	}
	ts.Check(err)
	if like {
		if !slices.Equal(res[0], res[1]) {
			ts.Fatalf("schema errors: %s has %q, %s has %q", args[0], res[0], args[1], res[1])
		}
		return
	}
	for i, errs := range res {
		if errs != nil {
			ts.Fatalf("%s is not valid HAR: %s", args[i], strings.Join(errs, "; "))
		}
	}
}
