package policy

import (
	"slices"
	"strings"
	"testing"
)

// The capability table is well formed, and what derives from it in this
// package (the schema's keys, Enabled, the fs allow lists) agrees with it.
func TestCapabilityTableIsConsistent(t *testing.T) {
	seen := map[Capability]bool{}
	methods := map[string]bool{}
	for _, c := range CapabilityTable() {
		if seen[c.Name] {
			t.Errorf("%s is listed twice", c.Name)
		}
		seen[c.Name] = true
		if c.Name.Module() == "" || c.Name.Member() == "" || string(c.Name) != c.Name.Module()+"."+c.Name.Member() {
			t.Errorf("%s is not module.member", c.Name)
		}
		if _, ok := sectionValueKind[c.Section]; !ok {
			t.Errorf("%s: section %q is not a capability section", c.Name, c.Section)
		}
		if len(c.Grants) == 0 {
			t.Errorf("%s: no key grants it", c.Name)
		}
		for _, g := range c.Grants {
			if _, ok := findListKey(c.Section, g); !ok {
				t.Errorf("%s: grant key [%s].%s is not in the schema", c.Name, c.Section, g)
			}
			if !contains(sectionKeys[c.Section], g) {
				t.Errorf("%s: [%s] does not accept its grant key %s", c.Name, c.Section, g)
			}
		}
		if (c.Method != "") != (c.Section == SectionNetwork) {
			t.Errorf("%s: method %q in section %s", c.Name, c.Method, c.Section)
		}
		if c.Method != "" {
			if methods[c.Method] {
				t.Errorf("%s: method %s is taken", c.Name, c.Method)
			}
			methods[c.Method] = true
		}
		if !c.Returns && !c.Sends {
			t.Errorf("%s neither returns nor sends anything", c.Name)
		}
		if c.Effect() && !c.Sends {
			t.Errorf("%s changes the world but sends nothing: labelled data would reach it unchecked", c.Name)
		}
		if !c.Name.Known() {
			t.Errorf("%s is not Known", c.Name)
		}
	}
	if Capability("fs.reed").Known() || Capability("").Known() {
		t.Error("an unknown name is Known")
	}
}

// Each capability is enabled by an entry in any one of its grant keys, and
// by nothing else.
func TestEnabledFollowsTheGrantKeys(t *testing.T) {
	values := map[string]string{
		SectionFilesystem:  `"src/**"`,
		SectionNetwork:     `"api.example.com"`,
		SectionEnvironment: `"HOME"`,
		SectionSubprocess:  `"git"`,
	}
	for _, lk := range listKeys {
		if lk.section == "" || lk.kind == kindIP || lk.kind == kindApprovePrefix || strings.HasPrefix(lk.name, "deny") {
			continue
		}
		src := "[" + lk.section + "]\n" + lk.name + " = [" + values[lk.section] + "]\n"
		p, err := LoadBytes("aegis.toml", []byte(src), t.TempDir())
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		var want []Capability
		for _, c := range CapabilityTable() {
			if c.Section == lk.section && slices.Contains(c.Grants, lk.name) {
				want = append(want, c.Name)
			}
		}
		if got := p.Capabilities(); !slices.Equal(got, want) {
			t.Errorf("%s enables %v, want %v", lk.qualified(), got, want)
		}
		if lit, ok := literal[lk.qualified()]; ok && !slices.Equal(want, lit) {
			t.Errorf("%s enables %v, the documented set is %v", lk.qualified(), want, lit)
		}
	}
}

// What docs/policy-file.md says each key enables.
var literal = map[string][]Capability{
	"[filesystem].read_allow":       {FSRead, FSList, FSExists},
	"[filesystem].local_only_read":  {FSRead, FSList, FSExists},
	"[filesystem].write_allow":      {FSWrite, FSExists},
	"[filesystem].delete_allow":     {FSDelete, FSExists},
	"[network].http_post_allow":     {HTTPPost},
	"[network].local_only_hosts":    {HTTPGet, HTTPPost, HTTPPut, HTTPPatch, HTTPDelete},
	"[environment].local_only_vars": {EnvRead},
	"[subprocess].allow_commands":   {SubprocessExec},
}

// The network verbs' own allow keys are in the schema, in table order,
// before the section's shared keys, and parse, merge and show like any key.
func TestNetworkAllowKeysComeFromTheTable(t *testing.T) {
	var got []string
	for _, lk := range listKeys {
		if lk.section == SectionNetwork {
			got = append(got, lk.name)
		}
	}
	want := []string{"http_get_allow", "http_post_allow", "http_put_allow", "http_patch_allow", "http_delete_allow",
		"local_only_hosts", "deny_hosts", "deny_ips"}
	if !slices.Equal(got, want) {
		t.Errorf("[network] list keys %v, want %v", got, want)
	}
	p, err := LoadBytes("aegis.toml", []byte("inherits = \"secure-defaults\"\n[network]\nhttp_put_allow = [\"api.example.com\"]\n"), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if !p.Enabled(HTTPPut) || p.Enabled(HTTPPost) {
		t.Errorf("capabilities %v", p.Capabilities())
	}
	var shown []Entry
	for _, l := range p.Describe().Lists {
		if l.Key == "[network].http_put_allow" {
			shown = l.Entries
		}
	}
	if len(shown) != 1 || shown[0].Value != "api.example.com" || shown[0].From.Line != 3 {
		t.Errorf("[network].http_put_allow shows %+v", shown)
	}
	if _, err := LoadBytes("aegis.toml", []byte("[network]\nhttp_putt_allow = [\"x\"]\n"), t.TempDir()); err == nil ||
		!strings.Contains(err.Error(), `did you mean "http_put_allow"`) {
		t.Errorf("a misspelt verb key: %v", err)
	}
}

func TestGrantText(t *testing.T) {
	cases := []struct {
		caps []Capability
		want string
	}{
		{[]Capability{FSWrite}, "[filesystem].write_allow"},
		{[]Capability{FSRead}, "[filesystem].read_allow (or local_only_read)"},
		{[]Capability{FSExists}, "[filesystem].read_allow (or local_only_read, write_allow or delete_allow)"},
		{[]Capability{HTTPGet}, "[network].http_get_allow (or local_only_hosts)"},
		{[]Capability{EnvRead}, "[environment].allow_vars (or local_only_vars)"},
		{[]Capability{SubprocessExec}, "[subprocess].allow_commands (or local_only_commands)"},
		{[]Capability{HTTPGet, HTTPPost, HTTPPut, HTTPPatch, HTTPDelete},
			"[network].http_get_allow, http_post_allow, http_put_allow, http_patch_allow or http_delete_allow (or local_only_hosts)"},
		{[]Capability{FSWrite, EnvRead}, "[filesystem].write_allow or [environment].allow_vars (or local_only_vars)"},
		{[]Capability{"fs.nope"}, "the policy"},
		// A key that is one capability's own is not repeated as another's
		// alternative.
		{[]Capability{FSExists, FSWrite}, "[filesystem].read_allow or write_allow (or local_only_read or delete_allow)"},
	}
	for _, tc := range cases {
		if got := GrantText(tc.caps...); got != tc.want {
			t.Errorf("GrantText(%v) = %q, want %q", tc.caps, got, tc.want)
		}
	}
}

func TestScriptMembers(t *testing.T) {
	ms := ScriptMembers()
	var fs []string
	for _, m := range ms {
		if m.Module == "fs" {
			fs = append(fs, m.Name)
		}
		if len(m.Capabilities) == 1 && m.Capabilities[0].Module() != m.Module {
			t.Errorf("%s.%s exercises %s, outside its module", m.Module, m.Name, m.Capabilities[0])
		}
	}
	if want := []string{"read", "write", "delete", "list", "walk", "glob", "exists", "stat", "is_dir", "is_file"}; !slices.Equal(fs, want) {
		t.Errorf("fs members %v, want %v", fs, want)
	}
	if m := ms[slices.IndexFunc(ms, func(m ScriptMember) bool { return m.Name == "stat" })]; !slices.Equal(m.Capabilities, []Capability{FSExists}) {
		t.Errorf("fs.stat exercises %v", m.Capabilities)
	}
	last := ms[len(ms)-1]
	if last.Module != "net" || last.Name != "request" || !slices.Equal(last.Capabilities, []Capability{HTTPGet, HTTPPost, HTTPPut, HTTPPatch, HTTPDelete}) {
		t.Errorf("net.request: %+v", last)
	}
	if got := CapabilityModules(); !slices.Equal(got, []string{"fs", "net", "env", "subprocess"}) {
		t.Errorf("modules %v", got)
	}
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		if c, ok := HTTPCapability(m); !ok || c != Capability("net.http_"+strings.ToLower(m)) {
			t.Errorf("%s -> %s", m, c)
		}
	}
	if _, ok := HTTPCapability("HEAD"); ok {
		t.Error("HEAD has a capability")
	}
}

// A capability that takes one target refuses none or two, whatever the
// first would get: a caller passing two targets must not have the second
// ignored. subprocess.exec takes the whole argv.
func TestDecideTargetCount(t *testing.T) {
	w := newWorld(t)
	w.file("src/a.go")
	w.program("", "git")
	p := w.mustLoad(`
[filesystem]
read_allow = ["src/**"]
write_allow = ["src/**"]
delete_allow = ["src/**"]
[network]
http_get_allow = ["*"]
http_post_allow = ["*"]
http_put_allow = ["*"]
http_patch_allow = ["*"]
http_delete_allow = ["*"]
[environment]
allow_vars = ["*"]
[subprocess]
allow_commands = ["git"]
`)
	ok := map[Target]string{TargetPath: "src/a.go", TargetURL: "https://93.184.216.34/", TargetVar: "HOME"}
	for _, c := range CapabilityTable() {
		if c.Target == TargetArgv {
			if d := p.Decide(c.Name, "git", "status", "--short"); !d.Allowed {
				t.Errorf("%s of a whole argv: %s", c.Name, d.Reason)
			}
			continue
		}
		if d := p.Decide(c.Name, ok[c.Target]); !d.Allowed {
			t.Fatalf("%s %s: %s (the fixture must allow it)", c.Name, ok[c.Target], d.Reason)
		}
		if d := p.Decide(c.Name, ok[c.Target], ok[c.Target]); d.Allowed || !strings.Contains(d.Reason, "takes one target, got 2") || d.Hint == "" {
			t.Errorf("%s with two targets: allowed %v, %s", c.Name, d.Allowed, d.Reason)
		}
		if d := p.Decide(c.Name); d.Allowed || !strings.Contains(d.Reason, "no target given") || d.Hint == "" {
			t.Errorf("%s with no target: allowed %v, %s", c.Name, d.Allowed, d.Reason)
		}
	}
}
