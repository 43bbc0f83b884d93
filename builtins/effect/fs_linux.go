package effect

import (
	"errors"
	"io/fs"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// dirFlags open a directory only to resolve names in it: O_PATH needs no
// read permission on it (a 0711 home directory can still be walked).
const dirFlags = unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC

// noOpenat2 is set once openat2 is known to be missing (Linux before 5.6,
// or a seccomp filter that refuses it); the walk is used from then on.
// Tests set it to exercise the walk.
var noOpenat2 atomic.Bool

// openat2Dir opens the directory dir in one system call that follows no
// symlink (RESOLVE_NO_SYMLINKS, which also refuses /proc magic links).
// ok is false when openat2 is unavailable and the caller must walk.
func openat2Dir(dir string) (fd int, err error, ok bool) {
	if noOpenat2.Load() {
		return -1, nil, false
	}
	fd, err = unix.Openat2(unix.AT_FDCWD, dir, &unix.OpenHow{
		Flags:   dirFlags,
		Resolve: unix.RESOLVE_NO_SYMLINKS,
	})
	switch {
	case err == nil:
		return fd, nil, true
	case errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EPERM):
		noOpenat2.Store(true)
		return -1, nil, false
	case errors.Is(err, unix.ELOOP):
		return -1, &SymlinkError{Path: dir}, true
	}
	return -1, &fs.PathError{Op: "open", Path: dir, Err: err}, true
}
