package mcpserver

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// FileChange is what writing one HostFile does (or would do).
type FileChange struct {
	Path    string   `json:"path"`              // as HostFile.Path
	File    string   `json:"file"`              // the absolute file
	Status  string   `json:"status"`            // created, updated, unchanged or skipped
	Changes []string `json:"changes,omitempty"` // one line per entry: "+ key", "~ key: old -> new", "- key: entry (why)"
	Note    string   `json:"note,omitempty"`    // why a file was skipped, and what to do instead
}

// Statuses of a FileChange.
const (
	FileCreated   = "created"
	FileUpdated   = "updated"
	FileUnchanged = "unchanged"
	FileSkipped   = "skipped"
)

// PlanHostFiles says what WriteHostFiles would change under root, without
// writing: the drift between the host's files and this configuration.
func PlanHostFiles(root string, files []HostFile) ([]FileChange, error) {
	return applyHostFiles(root, files, false)
}

// WriteHostFiles merges files into what exists under root: the entries
// this configuration manages are added or corrected, everything else in
// the files is kept, in its order. A file that would not change is not
// touched, so running it twice changes nothing the second time. A file
// that is not plain JSON is an error and nothing is written.
func WriteHostFiles(root string, files []HostFile) ([]FileChange, error) {
	return applyHostFiles(root, files, true)
}

func applyHostFiles(root string, files []HostFile, write bool) ([]FileChange, error) {
	type planned struct {
		change FileChange
		out    []byte
		mode   fs.FileMode
	}
	var plan []planned
	merged := map[string]any{} // by HostFile.Path, for the trust check
	// The trust entry is decided last, on the merged settings.
	order := make([]int, 0, len(files))
	for i, f := range files {
		if f.trustCheck == nil {
			order = append(order, i)
		}
	}
	for i, f := range files {
		if f.trustCheck != nil {
			order = append(order, i)
		}
	}
	for _, i := range order {
		f := files[i]
		path := f.Path
		if !filepath.IsAbs(path) {
			path = filepath.Join(root, filepath.FromSlash(f.Path))
		}
		c := FileChange{Path: f.Path, File: path}
		desired, err := decodeOrdered([]byte(f.Content))
		if err != nil {
			return nil, fmt.Errorf("host-config produced invalid JSON for %s: %w", f.Path, err)
		}
		var existing any
		mode := fs.FileMode(0o644)
		if filepath.IsAbs(f.Path) {
			mode = 0o600 // a user's own configuration (Claude Code's state) is theirs alone
		}
		old, err := os.ReadFile(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("read %s: %w", path, err)
		default:
			if fi, err := os.Stat(path); err == nil {
				mode = fi.Mode().Perm()
			}
			if existing, err = decodeOrdered(old); err != nil {
				return nil, fmt.Errorf("%s is not plain JSON (%v), so host-config cannot merge into it without losing something: "+
					"fix it, or add the entries by hand (aegis host-config without --write prints them)", path, err)
			}
			if _, isObj := existing.(*object); !isObj {
				return nil, fmt.Errorf("%s holds %s, not a JSON object: move it aside or fix it, then run host-config again", path, short(existing))
			}
		}
		if f.trustCheck != nil {
			if problems := claudeTrustProblems(root, f.trustCheck.server, merged[".claude/settings.json"]); len(problems) > 0 {
				c.Status = FileSkipped
				c.Note = "not marking the project trusted: trusting it would also put into effect settings host-config does not manage (" + strings.Join(problems, "; ") + ")" +
					". Review those entries, then trust the project by running `claude` there once and accepting the dialog, " +
					"or give `claude -p` the Aegis tools on the command line: --allowedTools " + ClaudeAllowedTools(files)
				plan = append(plan, planned{change: c})
				continue
			}
		}
		out, changes := merge(existing, desired, f.rules)
		merged[f.Path] = out
		c.Changes = changes
		switch {
		case existing == nil:
			c.Status = FileCreated
		case len(changes) == 0:
			c.Status = FileUnchanged
		default:
			c.Status = FileUpdated
		}
		p := planned{change: c, mode: mode}
		if c.Status != FileUnchanged {
			if p.out, err = encodeOrdered(out); err != nil {
				return nil, fmt.Errorf("encode %s: %w", path, err)
			}
		}
		plan = append(plan, p)
	}
	changes := make([]FileChange, 0, len(plan))
	for _, p := range plan {
		if write && p.out != nil {
			if err := writeAtomically(p.change.File, p.out, p.mode); err != nil {
				return nil, err
			}
		}
		changes = append(changes, p.change)
	}
	// Report in the order the files were given.
	index := map[string]int{}
	for i, f := range files {
		index[f.Path] = i
	}
	sort.SliceStable(changes, func(a, b int) bool { return index[changes[a].Path] < index[changes[b].Path] })
	return changes, nil
}

// writeAtomically replaces path with data through a temporary file in the
// same directory, so a reader never sees half a file.
func writeAtomically(path string, data []byte, mode fs.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".aegis-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// The project settings keys host-config manages. A trusted workspace lets
// its .claude settings run commands (hooks, status lines, helpers) and its
// allow lists take effect; host-config marks a workspace trusted only when
// its settings hold nothing but these, so trusting enables exactly what it
// wrote.
var (
	claudeTrustedTopKeys  = map[string]bool{"$schema": true, "permissions": true, "enabledMcpjsonServers": true}
	claudeTrustedPermKeys = map[string]bool{"allow": true, "deny": true, "ask": true, "disableBypassPermissionsMode": true}
)

// claudeTrustProblems lists what in the project's Claude settings (settings
// as merged, and settings.local.json as it is) trusting would enable
// beyond the Aegis entries.
func claudeTrustProblems(root, server string, settings any) []string {
	var problems []string
	check := func(name string, doc any) {
		o, ok := doc.(*object)
		if !ok {
			return
		}
		for _, k := range o.keys {
			if !claudeTrustedTopKeys[k] {
				problems = append(problems, fmt.Sprintf("%s key %q", name, k))
			}
		}
		if servers, ok := o.vals["enabledMcpjsonServers"].([]any); ok {
			for _, sv := range servers {
				if sv != server {
					problems = append(problems, fmt.Sprintf("%s enabledMcpjsonServers entry %s", name, short(sv)))
				}
			}
		}
		perms, ok := o.vals["permissions"].(*object)
		if !ok {
			return
		}
		for _, k := range perms.keys {
			if !claudeTrustedPermKeys[k] {
				problems = append(problems, fmt.Sprintf("%s permissions.%s", name, k))
			}
		}
		for _, list := range []string{"allow", "ask"} {
			entries, _ := perms.vals[list].([]any)
			for _, e := range entries {
				if s, ok := e.(string); !ok || !strings.HasPrefix(s, "mcp__"+server+"__") {
					problems = append(problems, fmt.Sprintf("%s permissions.%s entry %s", name, list, short(e)))
				}
			}
		}
	}
	check(".claude/settings.json", settings)
	local := filepath.Join(root, ".claude", "settings.local.json")
	if b, err := os.ReadFile(local); err == nil {
		doc, err := decodeOrdered(b)
		if err != nil {
			problems = append(problems, ".claude/settings.local.json (not plain JSON, so it cannot be vetted)")
		} else {
			check(".claude/settings.local.json", doc)
		}
	}
	return problems
}
