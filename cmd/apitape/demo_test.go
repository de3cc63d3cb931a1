package main

import (
	"context"

	"github.com/apitape/apitape/internal/demo"
	"github.com/rogpeppe/go-internal/testscript"
)

// demo-serve [--variant NAME] [PREFIX] starts a demo server for the rest of
// the script and exports PREFIX_URL, PREFIX_API_KEY, PREFIX_USER and
// PREFIX_PASSWORD (PREFIX defaults to DEMO).
func init() {
	scriptCmds["demo-serve"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg {
			ts.Fatalf("unsupported: ! demo-serve")
		}
		opts := demo.Options{}
		prefix := "DEMO"
		for i := 0; i < len(args); i++ {
			switch {
			case args[i] == "--variant" && i+1 < len(args):
				opts.Variant = args[i+1]
				i++
			default:
				prefix = args[i]
			}
		}
		r, err := demo.Start(context.Background(), "127.0.0.1:0", opts)
		ts.Check(err)
		ts.Setenv(prefix+"_URL", r.URL)
		ts.Setenv(prefix+"_API_KEY", r.APIKey)
		ts.Setenv(prefix+"_USER", r.User)
		ts.Setenv(prefix+"_PASSWORD", r.Password)
		ts.Defer(func() { r.Close() })
	}
}
