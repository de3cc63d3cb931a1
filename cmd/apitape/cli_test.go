package main

import (
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"syscall"

	"github.com/apitape/apitape/internal/testtool"
	"github.com/rogpeppe/go-internal/testscript"
)

// ciNeed answers a tool condition such as [curl]: under CI=true a missing
// tool is an error, so a script cannot skip what CI installs.
func ciNeed(tool string, ok bool) (bool, error) {
	if !ok && testtool.InCI() {
		return false, fmt.Errorf("CI=true but %s is not installed (.ci/run installs it)", tool)
	}
	return ok, nil
}

func init() {
	// mkfifo PATH: a named pipe, for output that must be written through.
	scriptCmds["mkfifo"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 1 {
			ts.Fatalf("usage: mkfifo path")
		}
		ts.Check(syscall.Mkfifo(ts.MkAbs(args[0]), 0o644))
	}
	// filetype PATH TYPE: PATH itself (not what a link names) is a regular
	// file, symlink, fifo, chardev or dir.
	scriptCmds["filetype"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 2 {
			ts.Fatalf("usage: filetype path regular|symlink|fifo|chardev|dir")
		}
		fi, err := os.Lstat(ts.MkAbs(args[0]))
		ts.Check(err)
		names := map[fs.FileMode]string{
			0:                                 "regular",
			fs.ModeSymlink:                    "symlink",
			fs.ModeNamedPipe:                  "fifo",
			fs.ModeDevice | fs.ModeCharDevice: "chardev",
			fs.ModeDir:                        "dir",
		}
		got, ok := names[fi.Mode().Type()]
		if !ok {
			got = fi.Mode().Type().String()
		}
		if got != args[1] {
			ts.Fatalf("%s is a %s, want %s", args[0], got, args[1])
		}
	}
	// fileperm PATH MODE: the permission bits, in octal.
	scriptCmds["fileperm"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 2 {
			ts.Fatalf("usage: fileperm path 0600")
		}
		fi, err := os.Stat(ts.MkAbs(args[0]))
		ts.Check(err)
		if got := "0" + strconv.FormatUint(uint64(fi.Mode().Perm()), 8); got != args[1] {
			ts.Fatalf("%s has mode %s, want %s", args[0], got, args[1])
		}
	}
}
