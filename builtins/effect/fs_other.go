//go:build !unix

package effect

import (
	"context"
	"fmt"
	"runtime"
)

// FSUnsupported says why this build makes no file effect: the race-free
// file effects need the *at system calls of a Unix system. Every file
// effect returns it, and doctor says so.
var FSUnsupported = fmt.Errorf("file effects are not supported on %s: Aegis opens files without following symlinks only on Unix systems "+
	"(Linux, macOS, the BSDs); run Aegis there (a VM or a container) to use fs.*", runtime.GOOS)

// NoFollow is O_NOFOLLOW where there is one; here nothing opens a file
// that could need it (FSUnsupported).
const NoFollow = 0

func readFile(context.Context, string, int64, func(int64) error) ([]byte, error) {
	return nil, FSUnsupported
}
func writeFile(string, []byte) error                            { return FSUnsupported }
func remove(string) error                                       { return FSUnsupported }
func readDir(string, func(int64) error) ([]string, error)       { return nil, FSUnsupported }
func readDirEntries(string, func(int64) error) ([]Entry, error) { return nil, FSUnsupported }
func stat(string) (Info, bool, error)                           { return Info{}, false, FSUnsupported }
