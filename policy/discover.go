package policy

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// FileName is the policy file Discover looks for.
const FileName = "aegis.toml"

// FlagHelp is the help of a --policy flag (aegis and aegis-mcp): where the
// policy comes from when none is named.
const FlagHelp = "policy file (default: " + FileName + " in the working directory or the nearest parent, " +
	"up to the repository root or $HOME; without one, the secure-defaults preset, which denies every effect)"

// Discovery is the outcome of Discover.
type Discovery struct {
	Path      string   // the policy file found; "" when there is none
	From      string   // the directory the search started in, absolute
	Searched  []string // the directories looked in, nearest first
	StoppedAt string   // why the search ended without a file: "the repository root", "the home directory", "the filesystem root"
}

// UnsafePolicyError is a policy file Discover found but will not use: one
// that another user owns or may write could choose what scripts do.
type UnsafePolicyError struct {
	Path string
	Why  string
}

func (e *UnsafePolicyError) Error() string {
	return fmt.Sprintf("found %s, but it %s; a policy found by discovery must belong to you (or root) and be writable by no one else: "+
		"check the file, then fix its owner or mode (chmod go-w %s), or name it with --policy", e.Path, e.Why, e.Path)
}

// Discover finds the policy for a command started in dir, the way git
// finds a repository: it looks for FileName in dir, then in each parent,
// and stops after the first directory holding .git (the repository root),
// after home, or at the filesystem root. Finding nothing is not an error.
//
// The file must belong to the current user or root and be writable by
// neither group nor others (*UnsafePolicyError otherwise): in a shared
// parent such as /tmp, anyone could plant one.
func Discover(dir, home string) (Discovery, error) {
	var d Discovery
	abs, err := filepath.Abs(dir)
	if err != nil {
		return d, fmt.Errorf("locate %s: %w", dir, err)
	}
	d.From = filepath.Clean(abs)
	if home != "" {
		if h, err := filepath.Abs(home); err == nil {
			home = filepath.Clean(h)
		}
	}
	for cur := filepath.Clean(abs); ; {
		d.Searched = append(d.Searched, cur)
		candidate := filepath.Join(cur, FileName)
		fi, err := os.Stat(candidate)
		switch {
		case err == nil && !fi.IsDir():
			if why := unsafeOwnership(fi); why != "" {
				return d, &UnsafePolicyError{Path: candidate, Why: why}
			}
			d.Path = candidate
			return d, nil
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			return d, fmt.Errorf("look for %s: %w", candidate, err)
		}
		if _, err := os.Lstat(filepath.Join(cur, ".git")); err == nil {
			d.StoppedAt = "the repository root"
			return d, nil
		}
		if home != "" && cur == home {
			d.StoppedAt = "the home directory"
			return d, nil
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			d.StoppedAt = "the filesystem root"
			return d, nil
		}
		cur = parent
	}
}

// DiscoverHere is Discover for a command started in the working directory,
// stopping at the user's home directory.
func DiscoverHere() (Discovery, error) {
	cwd, err := os.Getwd()
	if err != nil {
		return Discovery{}, fmt.Errorf("find the working directory: %w", err)
	}
	home, _ := os.UserHomeDir()
	return Discover(cwd, home)
}

// Missing says where a search that found no file looked: "no aegis.toml in
// DIR or its parents up to the repository root".
func (d Discovery) Missing() string {
	return fmt.Sprintf("no %s in %s or its parents up to %s", FileName, d.From, d.StoppedAt)
}
