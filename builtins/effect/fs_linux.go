package effect

import (
	"errors"
	"io/fs"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// noAtime is O_NOATIME: a read must not move the access time of what it
// reads (see openReading).
const noAtime = unix.O_NOATIME

// dirFlags open a directory only to resolve names in it: O_PATH needs no
// read permission on it (a 0711 home directory can still be walked).
const dirFlags = unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC

// openComponent opens the directory name in dfd without following a
// symlink. O_PATH with O_NOFOLLOW opens a symlink itself, so fstat of the
// descriptor tells, without a race, a symlink from a directory.
func openComponent(dfd int, name, full string) (int, error) {
	fd, err := unix.Openat(dfd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &fs.PathError{Op: "open", Path: full, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, &fs.PathError{Op: "stat", Path: full, Err: err}
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return fd, nil
	case unix.S_IFLNK:
		unix.Close(fd)
		return -1, &SymlinkError{Path: full}
	}
	unix.Close(fd)
	return -1, &fs.PathError{Op: "open", Path: full, Err: unix.ENOTDIR}
}

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
