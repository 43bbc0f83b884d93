package effect

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"
)

// File effects. Each acts on exactly the path the policy vetted: an
// absolute, clean path whose symlinks the policy has already resolved
// (policy.Decision.ResolvedPath). Between that decision and the effect the
// file system can change (a symlink swapped in with renameat2
// RENAME_EXCHANGE, a directory replaced), so no effect follows a symlink in
// any component: on Linux the path is opened with openat2 and
// RESOLVE_NO_SYMLINKS, elsewhere (or on a kernel without openat2) by a walk
// that opens one component at a time with O_NOFOLLOW. A path that has
// grown a symlink since the decision fails with *SymlinkError instead of
// reaching what the link points to.
//
// The opened file is checked with fstat, so what is read or replaced is what
// was opened: only regular files are read or written (*NotRegularError for
// a FIFO, a device, a socket or a directory), and files are opened
// non-blocking, so a FIFO cannot hang the open either.
//
//	ReadFile   the content, at most limit bytes (*TooLargeError past it)
//	WriteFile  atomic: a temporary file in the target's directory, then a
//	           rename over the target; an existing file keeps its mode.
//	           Missing parent directories are created, one component at a
//	           time, without following symlinks
//	Remove     a file (or symlink, or other non-directory) or an empty
//	           directory; the last component itself is never followed
//	ReadDir    the entry names of a directory
//	Exists     whether the last component exists (a dangling symlink does)
//
// Every effect can be abandoned: when ctx ends, the call returns an
// *AbandonedError at once, even if the kernel is still blocked (a hung
// network file system); the abandoned system call finishes on its own and
// its result is discarded. An abandoned write may still complete.

// SymlinkError reports a symlink found in a path that the policy resolved
// to one without any: the file system changed after the decision.
type SymlinkError struct {
	Path string
}

func (e *SymlinkError) Error() string {
	return fmt.Sprintf("%s: a component of the path is now a symbolic link (it changed after the policy checked it); refused rather than followed", e.Path)
}

// NotRegularError reports a target that is not a regular file.
type NotRegularError struct {
	Path string
	Kind string // "a FIFO (named pipe)", "a directory", ...
	Op   string // "read", "write"
}

func (e *NotRegularError) Error() string {
	if e.Kind == "a directory" && e.Op == "read" {
		return fmt.Sprintf("%s is a directory (use fs.list)", e.Path)
	}
	return fmt.Sprintf("%s is %s, not a regular file: fs.%s refuses FIFOs, sockets, devices and directories (a FIFO would block the run; a device is not data)", e.Path, e.Kind, e.Op)
}

// AbandonedError reports an effect given up because its context ended (the
// run's deadline, a cancel, a signal).
type AbandonedError struct {
	What string
	Err  error
}

func (e *AbandonedError) Error() string {
	return fmt.Sprintf("%s abandoned: %v", e.What, e.Err)
}

func (e *AbandonedError) Unwrap() error { return e.Err }

// fileKind names the type of a mode for NotRegularError.
func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO (named pipe)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "not a regular file"
}

// abandonable runs fn, returning early with an *AbandonedError when ctx
// ends first. fn keeps running on its own goroutine until the system call
// it is blocked in returns; its result is then dropped.
func abandonable[T any](ctx context.Context, what string, fn func() (T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, &AbandonedError{What: what, Err: err}
	}
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := fn()
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		return zero, &AbandonedError{What: what, Err: ctx.Err()}
	}
}

// ReadFile returns the content of the regular file at path, at most limit
// bytes. charge, if not nil, is called with the file's size before any of
// it is read (and with any growth while it is read): a non-nil error stops
// the read and is returned as is.
func ReadFile(ctx context.Context, path string, limit int64, charge func(int64) error) ([]byte, error) {
	return abandonable(ctx, "fs.read of "+path, func() ([]byte, error) { return readFile(ctx, path, limit, charge) })
}

// WriteFile replaces the file at path with data, atomically.
func WriteFile(ctx context.Context, path string, data []byte) error {
	_, err := abandonable(ctx, "fs.write of "+path, func() (struct{}, error) { return struct{}{}, writeFile(path, data) })
	return err
}

// Remove deletes the file, or the empty directory, at path.
func Remove(ctx context.Context, path string) error {
	_, err := abandonable(ctx, "fs.delete of "+path, func() (struct{}, error) { return struct{}{}, remove(path) })
	return err
}

// ReadDir returns the names of the entries of the directory at path, in
// directory order. charge, if not nil, is called with the size of each
// batch of names before it is kept (as ReadFile's).
func ReadDir(ctx context.Context, path string, charge func(int64) error) ([]string, error) {
	return abandonable(ctx, "fs.list of "+path, func() ([]string, error) { return readDir(path, charge) })
}

// Entry is one entry of a directory: its name and its kind (KindOf), taken
// from the directory itself, never by following a symlink.
type Entry struct {
	Name string
	Kind string
}

// ReadDirEntries is ReadDir with each entry's kind.
func ReadDirEntries(ctx context.Context, path string, charge func(int64) error) ([]Entry, error) {
	return abandonable(ctx, "fs.walk of "+path, func() ([]Entry, error) { return readDirEntries(path, charge) })
}

// Info is what Stat tells of a path (the last component not followed).
type Info struct {
	Kind    string // KindOf
	Size    int64
	Perm    fs.FileMode
	ModTime time.Time
}

// Stat describes what is at path without following its last component;
// ok is false when nothing is there (a missing parent included).
func Stat(ctx context.Context, path string) (info Info, ok bool, err error) {
	type res struct {
		info Info
		ok   bool
	}
	r, err := abandonable(ctx, "fs.stat of "+path, func() (res, error) {
		i, ok, err := stat(path)
		return res{i, ok}, err
	})
	return r.info, r.ok, err
}

// KindOf names the type of a mode as scripts see it: "file", "dir",
// "symlink" or "other" (a FIFO, socket or device).
func KindOf(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "file"
	case m.IsDir():
		return "dir"
	case m&fs.ModeSymlink != 0:
		return "symlink"
	}
	return "other"
}

// Exists reports whether something exists at path (the last component is
// not followed). A missing parent is a plain false; other errors (a parent
// that is a file, a permission problem, a symlink that appeared) are
// returned.
func Exists(ctx context.Context, path string) (bool, error) {
	return abandonable(ctx, "fs.exists of "+path, func() (bool, error) {
		_, ok, err := stat(path)
		return ok, err
	})
}

// errClosed is what a read loop returns when its context ended meanwhile.
var errClosed = errors.New("stopped")
