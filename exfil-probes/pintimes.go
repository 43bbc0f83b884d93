package exfilprobes

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// FixtureTime is the modification time every fixture file and directory
// gets. fs.stat shows a public file's mtime, which is public; two fixtures
// written a second apart would otherwise differ in it, and a differential
// harness would read that difference as a leak.
var FixtureTime = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// PinTimes sets the access and modification times of every file and
// directory under root (symlinks are left alone: Chtimes would follow them)
// to FixtureTime. Call it after the fixture is written: writing a file
// changes its directory's mtime.
func PinTimes(root string) error {
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		return os.Chtimes(path, FixtureTime, FixtureTime)
	})
	if err != nil {
		return fmt.Errorf("pin fixture times under %s: %w", root, err)
	}
	return nil
}
