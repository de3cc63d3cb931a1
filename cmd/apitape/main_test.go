package main

import (
	"flag"
	"os"
	"os/exec"
	"testing"

	"github.com/apitape/apitape/internal/chromium"
	"github.com/rogpeppe/go-internal/testscript"
)

var update = flag.Bool("update", false, "rewrite the expected output inside testscript files")

// scriptCmds are extra testscript commands; test files add theirs in init.
var scriptCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){}

// scriptSetups run before each script; test files add theirs in init (for
// example to start a fixture server and export its URL).
var scriptSetups []func(env *testscript.Env) error

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"apitape": func() {
			st := &streams{in: os.Stdin, out: os.Stdout, err: os.Stderr, getenv: os.Getenv}
			ctx, stop := signalContext()
			code := run(ctx, st, os.Args[1:])
			stop()
			os.Exit(code)
		},
	})
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata",
		UpdateScripts:       *update,
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Cmds:                scriptCmds,
		Setup: func(env *testscript.Env) error {
			for _, s := range scriptSetups {
				if err := s(env); err != nil {
					return err
				}
			}
			return nil
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "chromium":
				return ciNeed(cond, chromium.Available())
			case "shellcheck", "curl", "jq", "bash", "zsh", "fish", "node", "http":
				_, err := exec.LookPath(cond)
				return ciNeed(cond, err == nil)
			case "python":
				// Debian's python3, which has requests (python3-requests).
				err := exec.Command("/usr/bin/python3", "-c", "import requests").Run()
				return ciNeed(cond, err == nil)
			}
			return false, nil
		},
	})
}
