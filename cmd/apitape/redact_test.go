package main

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

func init() {
	scriptCmds["perm"] = cmdPerm
	scriptCmds["canaries"] = cmdCanaries
	scriptCmds["placeholders"] = cmdPlaceholders
	scriptCmds["exits"] = cmdExits
}

// cmdExits runs a command and checks its exit status, which exec cannot:
// exits 2 apitape redact a b. Its stdout and stderr can be checked after.
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits CODE COMMAND [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exits: bad code %q", args[0])
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exits: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("exit status %d, want %d", got, want)
	}
}

// cmdPlaceholders checks how many distinct placeholders of a class a file
// holds: placeholders FILE CLASS N.
func cmdPlaceholders(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: placeholders FILE CLASS N")
	}
	re := regexp.MustCompile(`REDACTED-` + regexp.QuoteMeta(args[1]) + `-[a-p]{8}`)
	distinct := map[string]bool{}
	for _, p := range re.FindAllString(ts.ReadFile(args[0]), -1) {
		distinct[p] = true
	}
	if n, _ := strconv.Atoi(args[2]); len(distinct) != n {
		ts.Fatalf("%s: %d distinct %s placeholders, want %s", args[0], len(distinct), args[1], args[2])
	}
}

// cmdPerm checks a file's permission bits: perm FILE 0600.
func cmdPerm(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: perm FILE MODE")
	}
	want, err := strconv.ParseUint(args[1], 8, 32)
	if err != nil {
		ts.Fatalf("perm: bad mode %q", args[1])
	}
	fi, err := os.Stat(ts.MkAbs(args[0]))
	ts.Check(err)
	if got := fi.Mode().Perm(); uint64(got) != want {
		ts.Fatalf("%s: mode %#o, want %#o", args[0], got, want)
	}
}

// canaryValues are the secrets the redact and scan scripts use. They are
// made here, not written in the scripts, so that the repository holds no
// token-shaped literal (redaction-cases.md §1): a script writes
// {{RANCHER_KEY}} and `canaries` fills it in and exports $RANCHER_KEY.
var canaryValues = map[string]string{
	"RANCHER_KEY":  fill("rancher", "bcdfghjklmnpqrstvwxz2456789", 54),
	"RANCHER_KEY2": fill("rancher2", "bcdfghjklmnpqrstvwxz2456789", 54),
	"CSRF":         fill("csrf", "0123456789abcdef", 32),
	"PASSWORD":     "Fake-" + fill("password", "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789", 10) + "!",
	"AWS_KEY":      "AKIA" + "FAKE" + fill("aws", "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 12),
	"GH_TOKEN":     "ghp_" + "FAKE" + fill("github", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 32),
	"VENDOR_TOKEN": "vnd_" + fill("vendor", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 32),
	// A JWT's header and claims: not secret, but token-shaped.
	"JWT_HP": base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256"}`)) + "." +
		base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"user-x7k2p"}`)),
}

func fill(seed, alphabet string, n int) string {
	var out []byte
	for block := 0; len(out) < n; block++ {
		sum := sha256.Sum256([]byte(fmt.Sprintf("%s/%d", seed, block)))
		for _, b := range sum {
			if len(out) < n {
				out = append(out, alphabet[int(b)%len(alphabet)])
			}
		}
	}
	return string(out)
}

// cmdCanaries replaces {{NAME}} in the given files with the canary NAME
// and exports every canary as $NAME.
func cmdCanaries(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("usage: canaries FILE...")
	}
	var pairs []string
	for k, v := range canaryValues {
		pairs = append(pairs, "{{"+k+"}}", v)
		ts.Setenv(k, v)
	}
	repl := strings.NewReplacer(pairs...)
	for _, f := range args {
		data, err := os.ReadFile(ts.MkAbs(f))
		ts.Check(err)
		ts.Check(os.WriteFile(ts.MkAbs(f), []byte(repl.Replace(string(data))), 0o644))
	}
}
