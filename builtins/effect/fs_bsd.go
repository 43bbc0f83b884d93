//go:build unix && !linux

package effect

import (
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// noAtime: these systems have no O_NOATIME; reads may move access times
// (docs/ifc-model.md, section 10).
const noAtime = 0

// noOpenat2: there is no openat2 here, the walk is always used (the tests
// set it as on Linux).
var noOpenat2 atomic.Bool

// openComponent opens the directory name in dfd without following a
// symlink (O_NOFOLLOW fails with ELOOP on one).
func openComponent(dfd int, name, full string) (int, error) {
	fd, err := unix.Openat(dfd, name, dirFlags|unix.O_NOFOLLOW, 0)
	if err != nil {
		return -1, componentErr("open", dfd, name, full, err)
	}
	return fd, nil
}

// dirFlags open a directory to resolve names in it.
const dirFlags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC

// openat2Dir: there is no openat2 here; openDir walks.
func openat2Dir(string) (int, error, bool) { return -1, nil, false }
