package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/apitape/apitape/internal/shellquote"
)

// modulePath is apitape's module, for `go run` lines.
const modulePath = "github.com/apitape/apitape"

// selfCommand is how to run this apitape again from the current directory,
// for lines the user is meant to paste: "apitape" when that is what PATH
// finds, "go run ./cmd/apitape" (relative to the module root) when this
// binary was built by `go run` inside apitape's source tree, and otherwise
// the executable's path or a `go run module@version` line.
func selfCommand() string {
	exe, err := os.Executable()
	if err != nil {
		return "apitape"
	}
	if goRunBinary(exe) {
		if rel, ok := sourceMain(); ok {
			return "go run " + shellquote.Quote(rel)
		}
		v := versionString()
		if !strings.HasPrefix(v, "v") {
			v = "latest"
		}
		return "go run " + modulePath + "/cmd/apitape@" + v
	}
	if p, err := exec.LookPath("apitape"); err == nil && sameFile(p, exe) {
		return "apitape"
	}
	return shellquote.Quote(exe)
}

// goRunBinary reports whether exe was built by `go run`: it then lives in
// the build cache or a go-build temporary folder, both named go-build, and
// is gone (or may be evicted) once the command ends.
func goRunBinary(exe string) bool {
	return slices.ContainsFunc(strings.Split(filepath.ToSlash(exe), "/"), func(part string) bool {
		return strings.HasPrefix(part, "go-build")
	})
}

// sourceMain finds apitape's module root from the working directory up and
// returns ./cmd/apitape relative to the working directory.
func sourceMain() (string, bool) {
	wd, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil {
			if !bytes.HasPrefix(mod, []byte("module "+modulePath+"\n")) {
				return "", false
			}
			rel, err := filepath.Rel(wd, filepath.Join(dir, "cmd", "apitape"))
			if err != nil {
				return "", false
			}
			// go run takes a relative package path only with a leading dot.
			if rel = filepath.ToSlash(rel); !strings.HasPrefix(rel, ".") {
				rel = "./" + rel
			}
			return rel, true
		}
		if filepath.Dir(dir) == dir {
			return "", false
		}
	}
}

func sameFile(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}
