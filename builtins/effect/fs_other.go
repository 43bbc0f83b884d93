//go:build !unix

package effect

import (
	"context"
	"errors"
)

// errNoSafeFS: the race-free file effects need the *at system calls of a
// Unix system.
var errNoSafeFS = errors.New("file effects are not supported on this system: Aegis opens files without following symlinks only on Unix systems")

func readFile(context.Context, string, int64, func(int64) error) ([]byte, error) {
	return nil, errNoSafeFS
}
func writeFile(string, []byte) error                            { return errNoSafeFS }
func remove(string) error                                       { return errNoSafeFS }
func readDir(string, func(int64) error) ([]string, error)       { return nil, errNoSafeFS }
func exists(string) (bool, error)                               { return false, errNoSafeFS }
func readDirEntries(string, func(int64) error) ([]Entry, error) { return nil, errNoSafeFS }
func stat(string) (Info, bool, error)                           { return Info{}, false, errNoSafeFS }
