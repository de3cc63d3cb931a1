// Package atomicfile writes output files so that a failure never leaves half
// a file: data goes to a temporary file beside the target, which replaces
// the target only on Commit.
//
// Only regular files are replaced that way. A device (/dev/null, /dev/stdout),
// a FIFO or a socket is opened and written in place: renaming over one would
// destroy it (as root, -o /dev/null once replaced /dev/null with a regular
// file). A symbolic link is followed: its target is what gets written,
// atomically when the target is a regular file, so the link itself survives.
package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
)

// File is an output file being written.
type File struct {
	*os.File
	path string // what Commit renames onto; "" when written in place
	done bool
}

// maxLinks bounds how many symbolic links Create follows, as the kernel
// does (ELOOP), so a link cycle is an error and not a hang.
const maxLinks = 40

// Create starts writing path. perm applies to the final file when it is a
// regular file; use 0o600 for anything that may hold credentials. A device
// or FIFO keeps its own mode.
func Create(path string, perm os.FileMode) (*File, error) {
	// What the path names in the end, through every link: /dev/stdout is
	// a link to /proc/self/fd/1, which names a pipe as "pipe:[N]", no
	// file a walk of the links could follow, but opening it works.
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() && !fi.IsDir() {
		return createInPlace(path)
	}
	target, fi, err := resolve(path)
	if err != nil {
		return nil, err
	}
	if fi != nil && !fi.Mode().IsRegular() {
		if fi.IsDir() {
			return nil, &fs.PathError{Op: "create", Path: path, Err: errors.New("is a directory")}
		}
		return createInPlace(target)
	}
	f, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".tmp-*")
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	pending.Store(f.Name(), struct{}{})
	return &File{File: f, path: target}, nil
}

// pending are the temporary files not yet committed or aborted, for
// RemovePending.
var pending sync.Map

// RemovePending removes every temporary file still being written. A
// process calls it just before os.Exit ends it in the middle of a write
// (a second Ctrl-C): no deferred Abort runs then, and the half-written
// file, which may hold credentials, would stay beside the target.
func RemovePending() {
	pending.Range(func(name, _ any) bool {
		os.Remove(name.(string))
		pending.Delete(name)
		return true
	})
}

// resolve follows symbolic links from path and returns the final name and
// what is there now (nil when nothing is). Links are followed one at a time,
// not with filepath.EvalSymlinks, so that a dangling link resolves to the
// file it names and that file is created.
func resolve(path string) (string, os.FileInfo, error) {
	for range maxLinks {
		fi, err := os.Lstat(path)
		if errors.Is(err, fs.ErrNotExist) {
			return path, nil, nil
		}
		if err != nil {
			return "", nil, err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			return path, fi, nil
		}
		dest, err := os.Readlink(path)
		if err != nil {
			return "", nil, err
		}
		if !filepath.IsAbs(dest) {
			dest = filepath.Join(filepath.Dir(path), dest)
		}
		path = dest
	}
	return "", nil, &fs.PathError{Op: "create", Path: path, Err: syscall.ELOOP}
}

// createInPlace opens a device, FIFO or socket for writing. Opening a FIFO
// blocks until a reader opens the other end, as any shell redirection does.
func createInPlace(path string) (*File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	return &File{File: f}, nil
}

// Commit flushes the data to disk and moves it into place.
func (f *File) Commit() error {
	if f.done {
		return os.ErrClosed
	}
	f.done = true
	if f.path == "" {
		// No fsync: a device or pipe may not support it, and there is
		// nothing to rename.
		return f.File.Close()
	}
	err := f.File.Sync()
	if cerr := f.File.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.File.Name(), f.path)
	}
	if err != nil {
		os.Remove(f.File.Name())
	}
	pending.Delete(f.File.Name())
	return err
}

// Abort discards what was written; safe to call after Commit (it then does
// nothing), so it can be deferred. What went to a device or FIFO is gone
// already; Abort only closes it.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.File.Close()
	if f.path != "" {
		os.Remove(f.File.Name())
		pending.Delete(f.File.Name())
	}
}

// WriteFile writes data to path atomically.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	f, err := Create(path, perm)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return err
	}
	return f.Commit()
}
