//go:build unix

package atomicfile

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestWriteThrough: only a regular file is replaced by rename. A device, a
// FIFO and a symbolic link are written through, and are still what they
// were afterwards (-o /dev/null as root once replaced /dev/null with a
// regular file).
func TestWriteThrough(t *testing.T) {
	type setup func(t *testing.T, dir string) (path string, read func() string)
	regular := func(t *testing.T, dir string) (string, func() string) {
		p := filepath.Join(dir, "target")
		if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
		return p, func() string { b, _ := os.ReadFile(p); return string(b) }
	}
	tests := []struct {
		name   string
		setup  setup
		data   string
		mode   fs.FileMode // type bits the path must still have afterwards
		target string      // the file the data must land in, relative to dir
		perm   fs.FileMode // expected permission of target; 0: not checked
		reason string
	}{
		{
			name:   "regular",
			setup:  regular,
			data:   "new",
			target: "target",
			perm:   0o600,
			reason: "a regular file is replaced whole and takes the requested mode",
		},
		{
			name: "symlink to regular",
			setup: func(t *testing.T, dir string) (string, func() string) {
				regular(t, dir)
				link := filepath.Join(dir, "link")
				if err := os.Symlink("target", link); err != nil {
					t.Fatal(err)
				}
				return link, nil
			},
			data:   "through the link",
			mode:   fs.ModeSymlink,
			target: "target",
			perm:   0o600,
			reason: "the link stays a link; its target is replaced atomically",
		},
		{
			name: "chain of links",
			setup: func(t *testing.T, dir string) (string, func() string) {
				regular(t, dir)
				os.Mkdir(filepath.Join(dir, "sub"), 0o755)
				if err := os.Symlink("../target", filepath.Join(dir, "sub", "l1")); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink("sub/l1", filepath.Join(dir, "l2")); err != nil {
					t.Fatal(err)
				}
				return filepath.Join(dir, "l2"), nil
			},
			data:   "two hops",
			mode:   fs.ModeSymlink,
			target: "target",
			perm:   0o600,
			reason: "relative links are resolved against their own directory",
		},
		{
			name: "dangling symlink",
			setup: func(t *testing.T, dir string) (string, func() string) {
				link := filepath.Join(dir, "link")
				if err := os.Symlink("created", link); err != nil {
					t.Fatal(err)
				}
				return link, nil
			},
			data:   "made",
			mode:   fs.ModeSymlink,
			target: "created",
			perm:   0o600,
			reason: "the file the link names is created, the link kept",
		},
		{
			name: "fifo",
			setup: func(t *testing.T, dir string) (string, func() string) {
				p := filepath.Join(dir, "fifo")
				if err := syscall.Mkfifo(p, 0o644); err != nil {
					t.Fatal(err)
				}
				got := make(chan string, 1)
				go func() {
					// Opening for reading blocks until Create opens the
					// writing end; EOF comes with Commit's close.
					f, err := os.Open(p)
					if err != nil {
						got <- err.Error()
						return
					}
					defer f.Close()
					b, _ := io.ReadAll(f)
					got <- string(b)
				}()
				return p, func() string { return <-got }
			},
			data:   "piped",
			mode:   fs.ModeNamedPipe,
			reason: "a FIFO's reader gets the data; the FIFO is not replaced",
		},
		{
			name: "/dev/null",
			setup: func(t *testing.T, dir string) (string, func() string) {
				return os.DevNull, func() string { return "" }
			},
			data:   "discarded",
			mode:   fs.ModeDevice | fs.ModeCharDevice,
			reason: "the device stays a device (as root, rename would replace it)",
		},
		{
			name: "symlink to /dev/null",
			setup: func(t *testing.T, dir string) (string, func() string) {
				link := filepath.Join(dir, "null")
				if err := os.Symlink(os.DevNull, link); err != nil {
					t.Fatal(err)
				}
				return link, func() string { return "" }
			},
			data:   "discarded",
			mode:   fs.ModeSymlink,
			reason: "a link to a device writes to the device, neither is replaced",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path, read := tt.setup(t, dir)
			if err := WriteFile(path, []byte(tt.data), 0o600); err != nil {
				t.Fatalf("WriteFile: %v (%s)", err, tt.reason)
			}
			fi, err := os.Lstat(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Type(); got != tt.mode {
				t.Errorf("%s is now %v, want %v (%s)", path, got, tt.mode, tt.reason)
			}
			if tt.target != "" {
				p := filepath.Join(dir, tt.target)
				b, err := os.ReadFile(p)
				if err != nil || string(b) != tt.data {
					t.Errorf("%s holds %q, %v; want %q (%s)", p, b, err, tt.data, tt.reason)
				}
				if fi, err := os.Lstat(p); err == nil && tt.perm != 0 && fi.Mode() != tt.perm {
					t.Errorf("%s mode %v, want %v", p, fi.Mode(), tt.perm)
				}
			} else if read != nil {
				want := tt.data
				if path == os.DevNull || tt.name == "symlink to /dev/null" {
					want = ""
				}
				if got := read(); got != want {
					t.Errorf("read %q, want %q (%s)", got, want, tt.reason)
				}
			}
			if left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(left) != 0 {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}
}

// TestDeviceNode: a character device made for the test (root only) is still
// one after a write, so the /dev/null case cannot pass merely because /dev
// is read-only or owned by someone else.
func TestDeviceNode(t *testing.T) {
	p := filepath.Join(t.TempDir(), "null")
	// 1,3 is /dev/null's major and minor on Linux.
	if err := syscall.Mknod(p, syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
		t.Skipf("cannot make a device node here (needs root): %v", err)
	}
	if err := WriteFile(p, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != fs.ModeDevice|fs.ModeCharDevice {
		t.Fatalf("device node became %v", fi.Mode())
	}
}

func TestLinkLoopAndDirectory(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	os.Symlink("b", a)
	os.Symlink("a", b)
	if _, err := Create(a, 0o600); !errors.Is(err, syscall.ELOOP) {
		t.Errorf("link loop: %v, want ELOOP", err)
	}
	if _, err := Create(dir, 0o600); err == nil {
		t.Error("no error for a directory")
	}
}

func TestAbortInPlaceKeepsDevice(t *testing.T) {
	f, err := Create(os.DevNull, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("x"))
	f.Abort()
	fi, err := os.Lstat(os.DevNull)
	if err != nil || fi.Mode().Type()&fs.ModeCharDevice == 0 {
		t.Fatalf("/dev/null after Abort: %v %v", fi, err)
	}
}
