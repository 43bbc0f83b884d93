// Package upstream gives the benchmarks that compare Aegis with the
// pristine go.starlark.net (bench/coldstart, bench/ifc-overhead) the
// upstream module, copied out of the module cache, and the go command they
// build with.
package upstream

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Module is the pristine upstream the fork was made from
// (starlark-ifc/UPSTREAM.md).
const Module = "go.starlark.net@v0.0.0-20260908191801-89a6a09411d5"

// Go runs the go command in dir (GOWORK off, so a go.work elsewhere cannot
// change what is built) and returns its trimmed stdout.
func Go(dir string, args ...string) (string, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(stdout.String()), nil
}

// Fetch downloads Module (go mod download, run in the module at root) and
// copies it to dst, out of the read-only module cache, so that it can be
// built as a main module of its own.
func Fetch(root, dst string) error {
	fmt.Println("fetching", Module)
	out, err := Go(root, "mod", "download", "-json", Module)
	if err != nil {
		return fmt.Errorf("downloading the pristine upstream: %w", err)
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal([]byte(out), &mod); err != nil || mod.Dir == "" {
		return fmt.Errorf("reading `go mod download -json` output %q: %v", out, err)
	}
	if err := copyTree(mod.Dir, dst); err != nil {
		return fmt.Errorf("copying upstream out of the module cache: %w", err)
	}
	return nil
}

// copyTree copies the directories and regular files under src to dst.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}
