package exfilprobes

import (
	"os"
	"path/filepath"
	"testing"
)

// Two fixtures written at different times look the same to fs.stat once
// pinned: files and directories alike, and a symlink's target is not
// touched through the link.
func TestPinTimes(t *testing.T) {
	root := t.TempDir()
	outside := filepath.Join(t.TempDir(), "outside.txt")
	if err := os.WriteFile(outside, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(outside)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "a", "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "a", "b", "f.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "a", "link")); err != nil {
		t.Fatal(err)
	}
	if err := PinTimes(root); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{root, "a", "a/b", "a/b/f.txt"} {
		if p != root {
			p = filepath.Join(root, p)
		}
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if !fi.ModTime().Equal(FixtureTime) {
			t.Errorf("%s: mtime %v, want %v", p, fi.ModTime(), FixtureTime)
		}
	}
	after, err := os.Stat(outside)
	if err != nil {
		t.Fatal(err)
	}
	if !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("the symlink's target was touched: %v, was %v", after.ModTime(), before.ModTime())
	}
}
