//go:build !unix

package policy

import (
	"io/fs"
	"runtime"
)

// unsafeOwnership cannot tell here who may write the file (no Unix owner
// and mode bits), so a discovered policy is never trusted: name it with
// --policy.
func unsafeOwnership(fs.FileInfo) string {
	return "cannot be checked for its owner and mode on " + runtime.GOOS
}
