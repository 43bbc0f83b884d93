//go:build unix && !linux

package effect

import "golang.org/x/sys/unix"

// dirFlags open a directory to resolve names in it.
const dirFlags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC

// openat2Dir: there is no openat2 here; openDir walks.
func openat2Dir(string) (int, error, bool) { return -1, nil, false }
