// Package subpath answers one question for slash-separated absolute paths:
// is this path the directory, or inside it? Policy zones, jail mounts,
// local-only trees and the ~ and root-relative spellings in messages all
// ask it, and all get the same answer here.
//
// The answer is lexical, component by component ("/a/bc" is not inside
// "/a/b"), with redundant slashes and "." components ignored. A path with
// a ".." component is inside nothing, and contains nothing: where ".."
// leads depends on the symlinks before it ("link/.." is the parent of the
// link's target), so resolve such a path first. A relative path is inside
// nothing too.
package subpath

import (
	"path"
	"strings"
)

// Within reports whether p is dir or lies under it. Every absolute path
// without a ".." component lies under "/".
func Within(p, dir string) bool {
	_, ok := Rel(p, dir)
	return ok
}

// Rel returns p relative to dir ("." when they are the same path) and
// whether p is dir or lies under it. The result is a suffix of the cleaned
// p: it allocates nothing when both paths are already clean.
func Rel(p, dir string) (string, bool) {
	p, ok1 := clean(p)
	dir, ok2 := clean(dir)
	switch {
	case !ok1 || !ok2:
		return "", false
	case p == dir:
		return ".", true
	case dir == "/":
		return p[1:], true
	case len(p) > len(dir) && p[len(dir)] == '/' && p[:len(dir)] == dir:
		return p[len(dir)+1:], true
	}
	return "", false
}

// clean cleans an absolute path with no ".." component; ok is false for
// any other.
func clean(p string) (string, bool) {
	if !path.IsAbs(p) || hasDotDot(p) {
		return "", false
	}
	return path.Clean(p), true
}

func hasDotDot(p string) bool {
	for p != "" {
		var elem string
		elem, p, _ = strings.Cut(p, "/")
		if elem == ".." {
			return true
		}
	}
	return false
}
