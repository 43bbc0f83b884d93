package version

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	rev := "3f2a9c1d5e7b0011223344556677889900aabbcc"
	for _, c := range []struct {
		name          string
		bi            *debug.BuildInfo
		short, string string
	}{
		{"tagged release", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v1.2.0"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: rev}, {Key: "vcs.time", Value: "2026-05-01T10:00:00Z"}}},
			"v1.2.0", "v1.2.0 (revision 3f2a9c1d5e7b, 2026-05-01T10:00:00Z; go1.26.0 "},
		{"development build with local changes", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: "true"}}},
			"devel+3f2a9c1d5e7b.dirty", "devel+3f2a9c1d5e7b.dirty (revision 3f2a9c1d5e7b with local changes; go1.26.0 "},
		{"no VCS information (go run, go test)", &debug.BuildInfo{GoVersion: "go1.26.0"},
			"devel", "devel (go1.26.0 "},
	} {
		t.Run(c.name, func(t *testing.T) {
			i := fromBuildInfo(c.bi, true)
			if i.Short() != c.short {
				t.Errorf("Short() = %q, want %q", i.Short(), c.short)
			}
			if !strings.HasPrefix(i.String(), c.string) {
				t.Errorf("String() = %q, want it to start with %q", i.String(), c.string)
			}
		})
	}
	if i := fromBuildInfo(nil, false); i.Version != "(devel)" || i.GoVersion == "" || i.Platform == "" {
		t.Errorf("without build info: %+v", i)
	}
}

func TestOverride(t *testing.T) {
	defer func(o string) { override = o }(override)
	override = "v9.9.9"
	i := fromBuildInfo(&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, true)
	if i.Short() != "v9.9.9" {
		t.Errorf("override ignored: %q", i.Short())
	}
}
