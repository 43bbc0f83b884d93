//go:build unix

package policy

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// unsafeOwnership says why a discovered policy file must not be trusted,
// or "" when it may.
func unsafeOwnership(fi fs.FileInfo) string {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	if uid := os.Geteuid(); int(st.Uid) != uid && st.Uid != 0 {
		return fmt.Sprintf("belongs to uid %d, not to you (uid %d)", st.Uid, uid)
	}
	perm := fi.Mode().Perm()
	if perm&0o002 != 0 {
		return fmt.Sprintf("is writable by everyone (mode %04o)", perm)
	}
	// A group-writable file is fine in the user's own group (the usual
	// umask 002 with a private group per user), not in a shared one.
	if perm&0o020 != 0 && int(st.Gid) != os.Getegid() {
		return fmt.Sprintf("is writable by group %d (mode %04o)", st.Gid, perm)
	}
	return ""
}
