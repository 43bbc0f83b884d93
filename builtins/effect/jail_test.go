package effect

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The jail tests run real jails: bwrap (installed by .ci/run) and Landlock
// (the CI kernel has it). A mechanism missing here fails the test: a jail
// test that cannot run must not pass.

// mechanisms returns the sandboxes to test, failing for a missing one.
func mechanisms(t *testing.T) map[string]*Sandbox {
	t.Helper()
	out := map[string]*Sandbox{}
	for _, mode := range []string{"bwrap", "landlock"} {
		sb, err := DetectSandbox(mode)
		if err != nil {
			t.Errorf("%s: %v", mode, err)
			continue
		}
		out[mode] = sb
	}
	return out
}

// everyWay is mechanisms(t) and "unjailed" (nil): for rules every command
// obeys, jailed or not.
func everyWay(t *testing.T) map[string]*Sandbox {
	t.Helper()
	ways := mechanisms(t)
	ways["unjailed"] = nil
	return ways
}

// checkReachedOnlyWithNetwork fails t unless a listener (what) received
// nothing from a command without the network and something from one with
// it: got counts what it received, res and err are the command's.
func checkReachedOnlyWithNetwork(t *testing.T, what string, hostNet bool, got int64, res *ExecResult, err error) {
	t.Helper()
	switch {
	case !hostNet && got != 0:
		t.Errorf("network none: %s received %d bytes (%v %v)", what, got, res, err)
	case hostNet && (got == 0 || err != nil):
		t.Errorf("network host: nothing received (%v %v)", res, err)
	}
}

// jailFixture is a project with a secret directory, a secret file beside
// public ones, an output directory and a policy file.
type jailFixture struct {
	root, secretDir, secretFile, out, policy string
}

// jailed returns c jailed in sb with the fixture's spec, or c as it is when
// sb is nil.
func (f jailFixture) jailed(sb *Sandbox, c Command) Command {
	if sb != nil {
		c.Jail = &Jail{Sandbox: sb, Spec: f.spec()}
	}
	return c
}

func newJailFixture(t *testing.T) jailFixture {
	t.Helper()
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f := jailFixture{
		root:       root,
		secretDir:  filepath.Join(root, "private"),
		secretFile: filepath.Join(root, "src", "key.txt"),
		out:        filepath.Join(root, "out"),
		policy:     filepath.Join(root, "aegis.toml"),
	}
	for p, body := range map[string]string{
		filepath.Join(f.secretDir, "token"): "SECRET-DIR-VALUE\n",
		f.secretFile:                        "SECRET-FILE-VALUE\n",
		filepath.Join(root, "src", "a.txt"): "public\n",
		filepath.Join(f.out, ".keep"):       "",
		f.policy:                            "[subprocess]\n",
	} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f jailFixture) spec() JailSpec {
	return JailSpec{
		ReadOnly:  []string{f.root},
		ReadWrite: []string{f.root}, // the whole root writable: the hard case
		Hide:      []string{f.secretDir, f.secretFile},
		Frozen:    []string{f.policy},
		Dir:       f.root,
	}
}

func runJailed(t *testing.T, sb *Sandbox, spec JailSpec, script string) (string, error) {
	t.Helper()
	res, err := Exec(context.Background(), Command{
		Argv:    []string{"bash", "-c", script},
		Env:     []string{"PATH=/usr/bin:/bin:/usr/sbin:/sbin"},
		Dir:     spec.Dir,
		Jail:    &Jail{Sandbox: sb, Spec: spec},
		Timeout: 30 * time.Second,
	})
	if err != nil {
		if ee, ok := err.(*ExitError); ok {
			return string(ee.Stdout) + string(ee.Stderr), err
		}
		return "", err
	}
	return string(res.Stdout), nil
}

func TestJailConfines(t *testing.T) {
	for name, sb := range mechanisms(t) {
		t.Run(name, func(t *testing.T) {
			f := newJailFixture(t)
			out, err := runJailed(t, sb, f.spec(), `
while read -r l; do case "$l" in Cap*|NoNewPrivs*) echo "$l";; esac; done < /proc/self/status
echo uid=$(id -u)
cat /proc/`+strconv.Itoa(os.Getpid())+`/cmdline 2>/dev/null && echo SAW-PARENT
umount `+f.secretDir+` 2>/dev/null && echo UMOUNTED
umount -l `+f.secretDir+` 2>/dev/null && echo UMOUNTED
cat private/token src/key.txt 2>/dev/null
test -e private/token && echo PRESENT-DIR
test -e src/key.txt && echo PRESENT-FILE
cat src/a.txt
echo made > out/made.txt && echo WROTE
echo evil >> aegis.toml && echo POLICY-WRITTEN
mv aegis.toml moved.toml 2>/dev/null && echo POLICY-MOVED
rm -f aegis.toml 2>/dev/null; test -e aegis.toml || echo POLICY-REMOVED
true`)
			if err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			for _, want := range []string{"CapEff:\t0000000000000000", "CapPrm:\t0000000000000000", "CapAmb:\t0000000000000000", "NoNewPrivs:\t1", "public", "WROTE"} {
				if !strings.Contains(out, want) {
					t.Errorf("missing %q in:\n%s", want, out)
				}
			}
			for _, bad := range []string{"SECRET", "UMOUNTED", "POLICY-", "uid=0\n", "SAW-PARENT"} {
				if strings.Contains(out, bad) {
					t.Errorf("%q in:\n%s", bad, out)
				}
			}
			if name == "bwrap" || (sb.namespaces == nsRoot) {
				// As nobody in a user namespace (Landlock) the bounding set
				// cannot be emptied, and there is no way back to a
				// capability: no uid 0 inside, no_new_privs.
				if !strings.Contains(out, "CapBnd:\t0000000000000000") {
					t.Errorf("bounding set kept:\n%s", out)
				}
			}
			if name == "bwrap" {
				// bwrap makes hidden paths absent; Landlock only unreadable.
				for _, bad := range []string{"PRESENT-DIR", "PRESENT-FILE"} {
					if strings.Contains(out, bad) {
						t.Errorf("%q in:\n%s", bad, out)
					}
				}
			}
			if b, err := os.ReadFile(filepath.Join(f.out, "made.txt")); err != nil || string(b) != "made\n" {
				t.Errorf("write into a read-write tree: %q %v", b, err)
			}
			if b, err := os.ReadFile(f.policy); err != nil || string(b) != "[subprocess]\n" {
				t.Errorf("the policy file changed: %q %v", b, err)
			}
		})
	}
}

// listener counts the bytes a loopback TCP listener receives.
type listener struct {
	ln  net.Listener
	got atomic.Int64
}

func newListener(t *testing.T) *listener {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &listener{ln: ln}
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
				l.got.Add(n + 1) // a connection counts even without data
			}()
		}
	}()
	return l
}

func (l *listener) port() string { return strconv.Itoa(l.ln.Addr().(*net.TCPAddr).Port) }

func TestJailNetwork(t *testing.T) {
	for name, sb := range mechanisms(t) {
		t.Run(name, func(t *testing.T) {
			f := newJailFixture(t)
			for _, hostNet := range []bool{false, true} {
				l := newListener(t)
				spec := f.spec()
				spec.Network = hostNet
				out, _ := runJailed(t, sb, spec, `echo exfiltrated > /dev/tcp/127.0.0.1/`+l.port()+` && echo SENT`)
				time.Sleep(200 * time.Millisecond) // let the listener count
				switch {
				case !hostNet && (l.got.Load() != 0 || strings.Contains(out, "SENT")):
					t.Errorf("network none: the listener received %d bytes (%s)", l.got.Load(), out)
				case hostNet && l.got.Load() == 0:
					// The control: the same command reaches the listener
					// when the network is granted, so the probe works.
					t.Errorf("network host: nothing received (%s)", out)
				}
			}
		})
	}
}

// processWith reports whether a process whose command line holds marker is
// alive.
func processWith(marker string) bool {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && bytes.Contains(b, []byte(marker)) {
			if st, err := os.ReadFile("/proc/" + e.Name() + "/stat"); err == nil && bytes.Contains(st, []byte(") Z ")) {
				continue // a zombie is dead
			}
			return true
		}
	}
	return false
}

func TestBackgroundChildrenDie(t *testing.T) {
	cases := map[string]*Sandbox{"unjailed": nil}
	for name, sb := range mechanisms(t) {
		cases[name] = sb
	}
	for name, sb := range cases {
		t.Run(name, func(t *testing.T) {
			f := newJailFixture(t)
			marker := fmt.Sprintf("%d.%d", 100000+os.Getpid()%1000, time.Now().UnixNano()%100000)
			script := "sleep " + marker + " & echo started"
			if sb != nil {
				// In a jail even a child that leaves the process group dies.
				script = "sleep " + marker + " & setsid sleep " + marker + "1 & echo started"
			}
			c := Command{Argv: []string{"sh", "-c", script}, Env: []string{"PATH=/usr/bin:/bin"}, Dir: f.root, Timeout: 30 * time.Second}
			if sb != nil {
				c.Jail = &Jail{Sandbox: sb, Spec: f.spec()}
			}
			start := time.Now()
			res, err := Exec(context.Background(), c)
			if err != nil || !strings.Contains(string(res.Stdout), "started") {
				t.Fatalf("%v %v", res, err)
			}
			if time.Since(start) > 10*time.Second {
				t.Errorf("Exec waited %v for the background child", time.Since(start))
			}
			deadline := time.Now().Add(3 * time.Second)
			for processWith("sleep\x00"+marker) && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			if processWith("sleep\x00" + marker) {
				exec.Command("pkill", "-f", "sleep "+marker).Run()
				t.Fatal("a background child outlived the command")
			}
		})
	}
}

func TestJailPlanCarvesHiddenFiles(t *testing.T) {
	f := newJailFixture(t)
	argv := strings.Join(bwrapArgs("bwrap", f.spec(), 0), " ")
	src := filepath.Join(f.root, "src")
	for _, want := range []string{
		"--cap-drop ALL", "--uid 65534", "--unshare-user", "--unshare-pid", "--unshare-net", "--die-with-parent",
		"--tmpfs " + f.secretDir + " --remount-ro " + f.secretDir,
		"--tmpfs " + src + " --bind-try " + src + "/a.txt " + src + "/a.txt --remount-ro " + src,
		"--ro-bind-try " + f.policy + " " + f.policy,
	} {
		if !strings.Contains(argv, want) {
			t.Errorf("missing %q in %s", want, argv)
		}
	}
	if strings.Contains(argv, "key.txt") {
		t.Errorf("the hidden file is bound: %s", argv)
	}
	if i, j := strings.Index(argv, "--bind-try "+f.root+" "), strings.Index(argv, "--tmpfs "+f.secretDir); i < 0 || j < i {
		t.Errorf("hiding must follow the bind it overrides: %s", argv)
	}
	spec := f.spec()
	spec.Network = true
	if strings.Contains(strings.Join(bwrapArgs("bwrap", spec, 1000), " "), "--unshare-net") {
		t.Error("network unshared although granted")
	}
	if strings.Contains(strings.Join(bwrapArgs("bwrap", spec, 1000), " "), "--uid") {
		t.Error("a non-root uid remapped")
	}
}

func TestDetectSandboxModes(t *testing.T) {
	if sb, err := DetectSandbox("none"); sb != nil || err != nil {
		t.Errorf("none: %v %v", sb, err)
	}
	if _, err := DetectSandbox("docker"); err == nil {
		t.Error("unknown mode accepted")
	}
	auto, err := DetectSandbox("auto")
	if err != nil {
		t.Fatal(err)
	}
	if b, err := DetectSandbox("bwrap"); err == nil && auto != b {
		t.Errorf("auto chose %v although bwrap works", auto)
	}
}

// unixListener counts what a Unix socket listener at path receives.
func unixListener(t *testing.T, path string) *atomic.Int64 {
	t.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o777)
	t.Cleanup(func() { ln.Close() })
	var got atomic.Int64
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
				got.Add(n + 1)
			}()
		}
	}()
	return &got
}

// A command without the network cannot reach a Unix socket either: a
// socket file in a tree it sees (made by a concurrent public command, or a
// service's socket that Landlock does not hide) would take what it sends
// past the jail. The control run with the network reaches it.
func TestJailNoUnixSockets(t *testing.T) {
	for name, sb := range mechanisms(t) {
		t.Run(name, func(t *testing.T) {
			f := newJailFixture(t)
			for _, hostNet := range []bool{false, true} {
				sock := filepath.Join(f.out, fmt.Sprintf("s%v.sock", hostNet))
				got := unixListener(t, sock)
				spec := f.spec()
				spec.Network = hostNet
				res, err := Exec(context.Background(), Command{
					Argv:    []string{"/usr/bin/python3", "-c", "import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b'exfiltrated'); print('SENT')", sock},
					Env:     []string{"PATH=/usr/bin:/bin"},
					Dir:     f.root,
					Jail:    &Jail{Sandbox: sb, Spec: spec},
					Timeout: 30 * time.Second,
				})
				time.Sleep(200 * time.Millisecond) // let the listener count
				checkReachedOnlyWithNetwork(t, "the Unix socket", hostNet, got.Load(), res, err)
			}
		})
	}
}

// A command whose output is local-only (Labelled) cannot change the mode,
// owner or times of a file it may only read: fs.stat shows a public file's
// mtime, so a changed time would carry local-only data out. bwrap's
// read-only mounts refuse it; Landlock does not govern attribute changes.
func TestJailLabelledChangesNoAttributes(t *testing.T) {
	for name, sb := range mechanisms(t) {
		t.Run(name, func(t *testing.T) {
			f := newJailFixture(t)
			pub := filepath.Join(f.root, "src", "a.txt")
			before := map[string]os.FileInfo{}
			for _, p := range []string{pub, f.policy} {
				fi, err := os.Stat(p)
				if err != nil {
					t.Fatal(err)
				}
				before[p] = fi
			}
			spec := JailSpec{ReadOnly: []string{f.root}, ReadWrite: []string{f.out}, Frozen: []string{f.policy}, Dir: f.root, Labelled: true}
			out, err := runJailed(t, sb, spec, `
touch -d @1234567 src/a.txt 2>/dev/null && echo TOUCHED
chmod 600 src/a.txt 2>/dev/null && echo CHMOD
chown "$(id -u)" src/a.txt 2>/dev/null && echo CHOWN
chmod 000 aegis.toml 2>/dev/null && echo POLICY-CHMOD
echo zone > out/z.txt && echo WROTE`)
			if err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			if !strings.Contains(out, "WROTE") {
				t.Errorf("the zone is not writable: %s", out)
			}
			for _, bad := range []string{"TOUCHED", "CHMOD", "CHOWN"} {
				if strings.Contains(out, bad) {
					t.Errorf("%q in:\n%s", bad, out)
				}
			}
			for p, fi := range before {
				now, err := os.Stat(p)
				if err != nil {
					t.Fatal(err)
				}
				if !now.ModTime().Equal(fi.ModTime()) || now.Mode() != fi.Mode() {
					t.Errorf("%s changed: %v %v, was %v %v", p, now.Mode(), now.ModTime(), fi.Mode(), fi.ModTime())
				}
			}
		})
	}
}

// A descriptor this process inherited without close-on-exec (an agent
// host's pipe, a file its launcher left open) must not reach a command,
// jailed or not: through it a command reads or writes past every rule.
func TestExecPassesNoInheritedDescriptor(t *testing.T) {
	f := newJailFixture(t)
	// Opened the way a parent that forgot O_CLOEXEC leaves it to us.
	fd, err := syscall.Open(filepath.Join(f.secretDir, "token"), syscall.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	for name, sb := range everyWay(t) {
		res, err := Exec(context.Background(), f.jailed(sb, Command{
			Argv:    []string{"/usr/bin/python3", "-c", "import os,sys\ntry: print(os.pread(int(sys.argv[1]), 100, 0))\nexcept OSError as e: print(e)", strconv.Itoa(int(fd))},
			Env:     []string{"PATH=/usr/bin:/bin"},
			Dir:     f.root,
			Timeout: 30 * time.Second,
		}))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if strings.Contains(string(res.Stdout), "SECRET") {
			t.Errorf("%s: the command read an inherited descriptor: %q", name, res.Stdout)
		}
	}
}

// Landlock without namespaces (a container that allows no user namespace,
// Aegis not root) has no network namespace to withhold, and Landlock
// governs only TCP: a command without the network must still send nothing,
// by UDP either. The control with the network reaches the listener.
func TestLandlockWithoutNamespacesSendsNoDatagram(t *testing.T) {
	if _, err := DetectSandbox("landlock"); err != nil {
		t.Fatal(err)
	}
	sb := &Sandbox{Kind: "landlock", namespaces: nsNone}
	f := newJailFixture(t)
	for _, hostNet := range []bool{false, true} {
		pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		var got atomic.Int64
		go func() {
			buf := make([]byte, 100)
			for {
				n, _, err := pc.ReadFrom(buf)
				if err != nil {
					return
				}
				got.Add(int64(n) + 1)
			}
		}()
		spec := f.spec()
		spec.Network = hostNet
		port := strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port)
		res, err := Exec(context.Background(), Command{
			Argv:    []string{"/usr/bin/python3", "-c", "import socket,sys; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'exfiltrated', ('127.0.0.1', int(sys.argv[1])))", port},
			Env:     []string{"PATH=/usr/bin:/bin"},
			Dir:     f.root,
			Jail:    &Jail{Sandbox: sb, Spec: spec},
			Timeout: 30 * time.Second,
		})
		time.Sleep(200 * time.Millisecond) // let the listener count
		pc.Close()
		checkReachedOnlyWithNetwork(t, "the UDP listener", hostNet, got.Load(), res, err)
	}
}

// Landlock does not govern attribute changes, and a jailed command owns
// what its user owns (as root: the system's files too), so under Landlock
// no command may change a file's mode, owner or times: not the policy
// file, not a hidden file, not a file outside every tree it sees (/usr is
// such a file when Aegis runs as root). bwrap's read-only mounts refuse
// the same changes without a filter.
func TestJailChangesNoAttributesOutsideItsTrees(t *testing.T) {
	for name, sb := range mechanisms(t) {
		t.Run(name, func(t *testing.T) {
			f := newJailFixture(t)
			outside := filepath.Join(t.TempDir(), "outside.txt")
			if err := os.WriteFile(outside, []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			paths := []string{outside, f.policy, f.secretFile, filepath.Join(f.secretDir, "token")}
			before := map[string]os.FileInfo{}
			for _, p := range paths {
				fi, err := os.Stat(p)
				if err != nil {
					t.Fatal(err)
				}
				before[p] = fi
			}
			script := ""
			for _, p := range paths {
				script += "chmod 777 " + p + " 2>/dev/null && echo CHMOD " + p + "\n"
				script += "touch -d @1234567 " + p + " 2>/dev/null && echo TOUCH " + p + "\n"
			}
			out, err := runJailed(t, sb, f.spec(), script+"true")
			if err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			if strings.Contains(out, "CHMOD") || strings.Contains(out, "TOUCH") {
				t.Errorf("attributes changed:\n%s", out)
			}
			for p, fi := range before {
				now, err := os.Stat(p)
				if err != nil {
					t.Fatal(err)
				}
				if !now.ModTime().Equal(fi.ModTime()) || now.Mode() != fi.Mode() {
					t.Errorf("%s changed: %v %v, was %v %v", p, now.Mode(), now.ModTime(), fi.Mode(), fi.ModTime())
				}
			}
		})
	}
}
