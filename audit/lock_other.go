//go:build !unix

package audit

import "os"

// On systems without flock, appends are serialised within one Log only; two
// processes writing the same log can fork its chain, which Verify reports.
func lockFile(*os.File) error { return nil }

func unlockFile(*os.File) error { return nil }
