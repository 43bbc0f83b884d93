// Package version says which build of Aegis is running, from the build
// information the Go toolchain stamps into every binary: the module
// version, the VCS revision and time, whether the tree was modified, and
// the Go version. aegis, aegis-mcp and the MCP serverInfo all report it
// through this package, so the three always agree.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// override, when set at link time (-ldflags "-X
// github.com/aegisdev/aegis/internal/version.override=v1.2.3"), replaces
// the module version, for packagers who build outside a VCS checkout.
var override string

// Info describes one build. Its JSON form is the stable schema of
// `aegis version --json`.
type Info struct {
	Version   string `json:"version"`            // module version ("v1.2.0", a pseudo-version), or "(devel)"
	Revision  string `json:"revision,omitempty"` // VCS revision the binary was built from
	Time      string `json:"time,omitempty"`     // commit time of that revision (RFC 3339)
	Modified  bool   `json:"modified,omitempty"` // the working tree had uncommitted changes
	GoVersion string `json:"go_version"`
	Platform  string `json:"platform"` // GOOS/GOARCH
}

// Get reads the running binary's build information.
func Get() Info {
	bi, ok := debug.ReadBuildInfo()
	return fromBuildInfo(bi, ok)
}

func fromBuildInfo(bi *debug.BuildInfo, ok bool) Info {
	info := Info{Version: "(devel)", GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if ok && bi != nil {
		if v := bi.Main.Version; v != "" {
			info.Version = v
		}
		if bi.GoVersion != "" {
			info.GoVersion = bi.GoVersion
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				info.Revision = s.Value
			case "vcs.time":
				info.Time = s.Value
			case "vcs.modified":
				info.Modified = s.Value == "true"
			}
		}
	}
	if override != "" {
		info.Version = override
	}
	return info
}

// Short is the version in one token, for MCP serverInfo.version and the
// first word of String: the module version, or for a development build
// "devel" with the revision ("devel+3f2a9c1d5e7b", "+dirty" when modified).
func (i Info) Short() string {
	v := i.Version
	if v != "" && v != "(devel)" {
		return v
	}
	v = "devel"
	if i.Revision != "" {
		v += "+" + shortRev(i.Revision)
		if i.Modified {
			v += ".dirty"
		}
	}
	return v
}

// String is the one line `aegis --version` prints after the program name:
// "v1.2.0 (revision 3f2a9c1d5e7b, 2026-05-01T10:00:00Z; go1.26.0 linux/amd64)".
func (i Info) String() string {
	var parts []string
	if i.Revision != "" {
		r := "revision " + shortRev(i.Revision)
		if i.Modified {
			r += " with local changes"
		}
		if i.Time != "" {
			r += ", " + i.Time
		}
		parts = append(parts, r)
	}
	parts = append(parts, i.GoVersion+" "+i.Platform)
	return fmt.Sprintf("%s (%s)", i.Short(), strings.Join(parts, "; "))
}

func shortRev(r string) string {
	if len(r) > 12 {
		return r[:12]
	}
	return r
}
