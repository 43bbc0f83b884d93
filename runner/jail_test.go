package runner

import (
	"bytes"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aegisdev/aegis/builtins/effect"
	"github.com/aegisdev/aegis/policy"
)

const jailPolicy = `
[filesystem]
read_allow = ["src/**"]
local_only_read = ["secrets/**", "zone/**", "*.key"]
write_allow = ["out/**", "zone/**", "src/**"]

[subprocess]
allow_commands = ["cat", "cp", "sh", "bash", "ls", "python3"]
sandbox = "MODE"
`

// jailModes are the mechanisms every jail test runs under. Both work on
// the CI machine (bwrap is installed by .ci/run, the kernel has Landlock);
// one that does not run here fails the run, and so the test.
var jailModes = []string{"bwrap", "landlock"}

func TestJail(t *testing.T) {
	for _, mode := range jailModes {
		t.Run(mode, func(t *testing.T) {
			p := newProject(t, strings.ReplaceAll(jailPolicy, "MODE", mode), map[string]string{
				"src/a.txt":     "alpha\n",
				"src/deep.key":  secretValue,
				"secrets/token": secretValue,
				"out/.keep":     "",
				"zone/.keep":    "",
			})
			// A command that names a local-only file runs with labelled output.
			res := p.run(`print(subprocess.exec(["cat", "secrets/token"]))`)
			want(t, res, OK)
			if res.Stdout != "[REDACTED]\n" {
				t.Fatalf("stdout %q", res.Stdout)
			}
			// A command with public output does not see local-only files,
			// even when the path is hidden from the argv gate inside a
			// shell line, and even a glob's match inside a visible tree.
			res = p.run(`print(subprocess.exec(["sh", "-c", "cat secrets/token src/deep.key || echo hidden; cat src/a.txt"]))`)
			want(t, res, OK)
			if !strings.Contains(res.Stdout, "hidden") || !strings.Contains(res.Stdout, "alpha") {
				t.Fatalf("stdout %q", res.Stdout)
			}
			if mode == "bwrap" {
				res = p.run(`print(subprocess.exec(["sh", "-c", "ls -a src; ls secrets 2>&1; true"]))`)
				want(t, res, OK)
				if strings.Contains(res.Stdout, "deep.key") || strings.Contains(res.Stdout, "token") {
					t.Fatalf("a local-only path is listed: %q", res.Stdout)
				}
			}
			// It can still write where the policy allows.
			res = p.run(`subprocess.exec(["sh", "-c", "echo made > out/made.txt"])`)
			want(t, res, OK)
			if b, _ := os.ReadFile(filepath.Join(p.root, "out", "made.txt")); string(b) != "made\n" {
				t.Fatalf("public write in the jail: %q", b)
			}
			// A command reading local-only files may write only into the
			// zone: out/ is writable for scripts, not for it.
			res = p.run(`subprocess.exec(["sh", "-c", "cat secrets/token > out/leak", "x", "secrets/token"])`)
			if res.ExitCode == 0 {
				t.Fatal("a labelled command wrote outside the zone")
			}
			if _, err := os.Stat(filepath.Join(p.root, "out", "leak")); err == nil {
				t.Fatal("a local-only file was copied out of the zone")
			}
			res = p.run(`subprocess.exec(["cp", "secrets/token", "zone/copy"])
print(fs.read("zone/copy"))`)
			want(t, res, OK)
			if res.Stdout != "[REDACTED]\n" {
				t.Fatalf("zone copy: %q", res.Stdout)
			}
			// Nothing outside the policy's paths is visible, nor the audit
			// log, and the policy file cannot change.
			res = p.run(`print(subprocess.exec(["sh", "-c", "cat /etc/shadow .aegis/audit.jsonl 2>&1 | head -c 300; echo x >> aegis.toml; true"]))`)
			if strings.Contains(res.Stdout, "root:") || strings.Contains(res.Stdout, `"kind"`) {
				t.Fatalf("the jail shows /etc/shadow or the audit log: %q", res.Stdout)
			}
			if b, _ := os.ReadFile(filepath.Join(p.root, "aegis.toml")); strings.Contains(string(b), "\nx\n") {
				t.Fatal("a jailed command changed the policy file")
			}
			if len(res.Warnings) != 0 {
				t.Errorf("warnings in a jailed run: %q", res.Warnings)
			}
		})
	}
}

// loopback counts what a TCP listener on 127.0.0.1 receives.
type loopback struct {
	ln  net.Listener
	got atomic.Int64
}

func newLoopback(t *testing.T) *loopback {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &loopback{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				var b bytes.Buffer
				n, _ := b.ReadFrom(c)
				l.got.Add(n + 1)
			}()
		}
	}()
	return l
}

func (l *loopback) received() int64 {
	time.Sleep(200 * time.Millisecond)
	return l.got.Load()
}

func TestJailNetwork(t *testing.T) {
	for _, mode := range jailModes {
		t.Run(mode, func(t *testing.T) {
			for _, c := range []struct {
				name, network, argv string
				reach               bool
			}{
				// [subprocess].network defaults to none.
				{"public, network unset", "", `["bash", "-c", "echo hi > /dev/tcp/127.0.0.1/PORT"]`, false},
				{"public, network none", `network = "none"`, `["bash", "-c", "echo hi > /dev/tcp/127.0.0.1/PORT"]`, false},
				// The control: the same probe reaches the listener when granted.
				{"public, network host", `network = "host"`, `["bash", "-c", "echo hi > /dev/tcp/127.0.0.1/PORT"]`, true},
				// Labelled output: never a network, whatever the key says,
				// although deny_ips denies the address to net.* only.
				{"labelled, network host", `network = "host"`, `["bash", "-c", "cat \"$1\" > /dev/tcp/127.0.0.1/PORT", "x", "secrets/token"]`, false},
			} {
				l := newLoopback(t)
				port := strconv.Itoa(l.ln.Addr().(*net.TCPAddr).Port)
				pol := strings.ReplaceAll(jailPolicy, "MODE", mode) + c.network + "\n[network]\ndeny_ips = [\"127.0.0.0/8\"]\n"
				p := newProject(t, pol, map[string]string{"secrets/token": secretValue})
				res := p.run(`subprocess.exec(` + strings.ReplaceAll(c.argv, "PORT", port) + `)`)
				got := l.received()
				if c.reach && (got == 0 || res.ExitCode != 0) {
					t.Errorf("%s: nothing received (%s: %s)", c.name, res.ExitKind, res.Error)
				}
				if !c.reach && got != 0 {
					t.Errorf("%s: the listener received %d bytes", c.name, got)
				}
			}
		})
	}
}

func TestUnjailedWarning(t *testing.T) {
	p := newProject(t, strings.ReplaceAll(jailPolicy, "MODE", "none"), map[string]string{"src/a.txt": "a\n"})
	res := p.run(`print(subprocess.exec(["cat", "src/a.txt"]))`)
	want(t, res, OK)
	if len(res.Warnings) != 1 || res.Warnings[0] != effect.UnjailedWarning {
		t.Fatalf("warnings %q", res.Warnings)
	}
	// A run that computes only still gets it: the warning is about the
	// policy and the machine, never about what the script did.
	if res := p.run(`print(1)`); len(res.Warnings) != 1 {
		t.Fatalf("warnings %q", res.Warnings)
	}
	if w, m, err := JailWarning(p.pol); w != effect.UnjailedWarning || m != "none" || err != nil {
		t.Fatalf("JailWarning: %q %q %v", w, m, err)
	}
	// No command allowed: nothing to warn about.
	q := newProject(t, "[subprocess]\nsandbox = \"none\"\n", map[string]string{})
	if res := q.run(`print(1)`); len(res.Warnings) != 0 {
		t.Fatalf("warnings without commands: %q", res.Warnings)
	}
	// "auto" here finds a jail: no warning.
	r := newProject(t, strings.ReplaceAll(jailPolicy, "MODE", "auto"), map[string]string{"src/a.txt": "a\n"})
	if res := r.run(`print(subprocess.exec(["cat", "src/a.txt"]))`); len(res.Warnings) != 0 || res.ExitCode != 0 {
		t.Fatalf("auto: %+v", res)
	}
}

// Where a build runs no command (every system but Linux), a run under a
// policy that allows commands says so from its start, and a command fails
// with the reason instead of running unconfined. Simulated here by setting
// what exec_other.go sets.
func TestCommandsRefusedWhereUnsupported(t *testing.T) {
	old := effect.ExecUnsupported
	effect.ExecUnsupported = errors.New("subprocess.exec is not supported on plan9: Aegis runs commands only on Linux")
	defer func() { effect.ExecUnsupported = old }()
	p := newProject(t, strings.ReplaceAll(jailPolicy, "MODE", "none"), map[string]string{"src/a.txt": "a\n"})
	res := p.run(`print(subprocess.exec(["cat", "src/a.txt"]))`)
	want(t, res, ScriptError, "subprocess.exec is not supported on plan9")
	if strings.Contains(res.Stdout, "a\n") {
		t.Errorf("the command ran: %q", res.Stdout)
	}
	if len(res.Warnings) != 1 || res.Warnings[0] != effect.ExecUnsupported.Error() {
		t.Errorf("warnings %q", res.Warnings)
	}
	if w, _, err := JailWarning(p.pol); w != effect.ExecUnsupported.Error() || err != nil {
		t.Errorf("JailWarning: %q %v", w, err)
	}
	q := newProject(t, "[subprocess]\nsandbox = \"none\"\n", map[string]string{})
	if res := q.run(`print(1)`); len(res.Warnings) != 0 {
		t.Errorf("warnings without commands: %q", res.Warnings)
	}
}

func TestJailViewFromPolicy(t *testing.T) {
	// The jail takes its paths from the policy's view, anchored as the
	// policy anchors them: no display string is parsed.
	p := newProject(t, `
[filesystem]
read_allow = ["src/**", "*.json", "/etc/ssl/**", "~/.cache/x/**", "a/b{c,d}/e"]
local_only_read = ["secrets/**", "**/*.pem"]
write_allow = ["out/**", "secrets/cache/**"]
[subprocess]
allow_commands = ["cat"]
network = "host"
`, map[string]string{})
	v := p.pol.Jail()
	home := v.Home
	got := map[string]bool{}
	for _, a := range append(append(v.Read, v.Write...), v.LocalOnly...) {
		got[a.Root] = a.Whole
	}
	for root, whole := range map[string]bool{
		p.root + "/src": true, p.root: false, "/etc/ssl": true, home + "/.cache/x": true, p.root + "/a": false,
		p.root + "/out": true, p.root + "/secrets": true, p.root + "/secrets/cache": true,
	} {
		if w, ok := got[root]; !ok || w != whole {
			t.Errorf("%s: present %v whole %v, want whole %v (%v)", root, ok, w, whole, got)
		}
	}
	if len(v.Zone) != 1 || v.Zone[0] != p.root+"/secrets/cache" {
		t.Errorf("zone %q", v.Zone)
	}
	if v.Network != policy.NetworkHost || v.Sandbox != policy.SandboxAuto {
		t.Errorf("network %q sandbox %q", v.Network, v.Sandbox)
	}
	// A glob local-only entry is matched, not hidden whole.
	for _, a := range v.LocalOnly {
		if a.Root == p.root && (!a.Match(p.root+"/x/y.pem") || a.Match(p.root+"/x/y.txt")) {
			t.Errorf("glob area match")
		}
	}
}

func TestJailProbedOnlyWhenACommandMayRun(t *testing.T) {
	// Finding the mechanism starts a process (bwrap's test sandbox): a run
	// under a policy that allows no command must not pay for it, and one
	// that allows a command must know before the script starts.
	var probes []string
	real := detectSandbox
	detectSandbox = func(mode string) (*effect.Sandbox, error) {
		probes = append(probes, mode)
		return nil, errors.New("no sandbox here")
	}
	defer func() { detectSandbox = real }()

	none := newProject(t, "[subprocess]\nsandbox = \"bwrap\"\n", map[string]string{})
	if res := none.run(`print(1)`); res.ExitCode != 0 || len(probes) != 0 {
		t.Fatalf("no command allowed: %s %q, probes %q", res.ExitKind, res.Error, probes)
	}
	// Should a command reach the jail all the same, it is probed then, and
	// a mechanism that cannot run stops the command rather than running it
	// unjailed.
	j, err := newJailer(none.pol, "")
	if err != nil || len(probes) != 0 {
		t.Fatalf("newJailer: %v, probes %q", err, probes)
	}
	if err := j.confine(&effect.Command{Argv: []string{"true"}}, false); err == nil || len(probes) != 1 {
		t.Fatalf("confine without a mechanism: %v, probes %q", err, probes)
	}

	probes = nil
	cmds := newProject(t, strings.ReplaceAll(jailPolicy, "MODE", "bwrap"), map[string]string{})
	res := cmds.run(`print(1)`)
	if len(probes) != 1 || probes[0] != "bwrap" {
		t.Fatalf("commands allowed: probes %q", probes)
	}
	want(t, res, IOError, "no sandbox here")
}

// A command handed a local-only file cannot write it into a public file's
// metadata (fs.stat shows the mtime), nor change the policy file's mode,
// under either mechanism: Landlock does not govern attribute changes.
func TestJailLabelledCommandChangesNoMetadata(t *testing.T) {
	for _, mode := range jailModes {
		t.Run(mode, func(t *testing.T) {
			p := newProject(t, strings.ReplaceAll(jailPolicy, "MODE", mode), map[string]string{
				"src/a.txt":     "alpha\n",
				"secrets/token": secretValue,
				"zone/.keep":    "",
			})
			pub := filepath.Join(p.root, "src", "a.txt")
			before, err := os.Stat(pub)
			if err != nil {
				t.Fatal(err)
			}
			pol, err := os.Stat(filepath.Join(p.root, "aegis.toml"))
			if err != nil {
				t.Fatal(err)
			}
			res := p.run(`subprocess.exec(["sh", "-c", "touch -d @$(wc -c < \"$1\") src/a.txt; chmod 600 src/a.txt; chmod 000 aegis.toml; echo z > zone/z; true", "x", "secrets/token"])
print(fs.read("zone/z"))`)
			want(t, res, OK)
			if res.Stdout != "[REDACTED]\n" {
				t.Fatalf("the zone write failed: %q", res.Stdout)
			}
			now, _ := os.Stat(pub)
			if !now.ModTime().Equal(before.ModTime()) || now.Mode() != before.Mode() {
				t.Errorf("a labelled command changed a public file: %v %v, was %v %v", now.Mode(), now.ModTime(), before.Mode(), before.ModTime())
			}
			if now, _ := os.Stat(filepath.Join(p.root, "aegis.toml")); now.Mode() != pol.Mode() {
				t.Errorf("a labelled command changed the policy file's mode: %v", now.Mode())
			}
		})
	}
}

// A command handed a local-only file cannot send it to a Unix socket in a
// tree it sees (a concurrent run's public command could listen there); the
// control, a public command granted the network, reaches the socket.
func TestJailLabelledCommandReachesNoUnixSocket(t *testing.T) {
	for _, mode := range jailModes {
		t.Run(mode, func(t *testing.T) {
			for _, c := range []struct {
				network, arg string
				reach        bool
			}{
				{`network = "host"`, "secrets/token", false},
				{`network = "host"`, "src/a.txt", true},
			} {
				p := newProject(t, strings.ReplaceAll(jailPolicy, "MODE", mode)+c.network+"\n", map[string]string{
					"src/a.txt":     "alpha\n",
					"secrets/token": secretValue,
					"out/.keep":     "",
				})
				sock := filepath.Join(p.root, "out", "s.sock")
				ln, err := net.Listen("unix", sock)
				if err != nil {
					t.Fatal(err)
				}
				var got atomic.Int64
				go func() {
					for {
						conn, err := ln.Accept()
						if err != nil {
							return
						}
						conn.SetDeadline(time.Now().Add(10 * time.Second))
						var b bytes.Buffer
						n, _ := b.ReadFrom(conn)
						got.Add(n + 1)
						conn.Close()
					}
				}()
				// The socket's path is built inside the program, out of the
				// argv gate's sight.
				res := p.run(`subprocess.exec(["python3", "-c", "import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect('out/' + 's.sock'); s.sendall(open(sys.argv[1],'rb').read())", "` + c.arg + `"])`)
				time.Sleep(200 * time.Millisecond)
				ln.Close()
				if res.ExitKind == string(PolicyDenied) {
					t.Fatalf("%s: the policy denied the probe: %s", c.arg, res.Error)
				}
				if c.reach && (got.Load() == 0 || res.ExitCode != 0) {
					t.Errorf("%s: the public command did not reach the socket (%s: %s)", c.arg, res.ExitKind, res.Error)
				}
				if !c.reach && got.Load() != 0 {
					t.Errorf("%s: the socket received %d bytes", c.arg, got.Load())
				}
			}
		})
	}
}
