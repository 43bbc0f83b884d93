package exfilprobes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Channel is one named observable of a run.
type Channel struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Outcome is what an executor reports for one run of one script.
type Outcome struct {
	// Exit is the termination observable, compared as a string: "exit 0", "exit 7", "timeout",
	// or for MCP the isError flag with the exit code and kind from structuredContent.
	Exit string `json:"exit"`
	// Code is the exit status as a number (0 is success), -1 when the executor cannot tell.
	Code int `json:"code"`
	// Stdout is what the script printed, as its user receives it; controls check it.
	Stdout string `json:"stdout"`
	// Error is the run's error report (stderr, or the MCP error text); the budget check reads it.
	Error string `json:"error"`
	// Public holds every observable a user of the run sees; all of it is compared across secrets.
	Public []Channel `json:"public"`
	// Private holds what only the operator sees (logs); it is scanned for secrets, never compared,
	// because it may legitimately hold timestamps.
	Private []Channel `json:"private,omitempty"`
}

func (o *Outcome) addPublic(name, value string)  { o.Public = append(o.Public, Channel{name, value}) }
func (o *Outcome) addPrivate(name, value string) { o.Private = append(o.Private, Channel{name, value}) }

func (o *Outcome) public(name string) string {
	for _, c := range o.Public {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// maskOwnPID rewrites "/proc/<pid>" to "/proc/self" for the runtime's own process id. The policy
// resolves /proc/self before deciding, so its messages name the pid, which differs on every run.
// Only the exact pid of the process under test is rewritten: a script cannot choose it, so a
// number a script derives from a secret is never hidden by this.
func maskOwnPID(s string, pid int) string {
	if pid <= 0 {
		return s
	}
	p := "/proc/" + strconv.Itoa(pid)
	var b strings.Builder
	for {
		i := strings.Index(s, p)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		end := i + len(p)
		b.WriteString(s[:i])
		if end == len(s) || s[end] < '0' || s[end] > '9' {
			b.WriteString("/proc/self")
		} else {
			b.WriteString(p)
		}
		s = s[end:]
	}
}

// Fixture locates one probe's world: its work directory and the two loopback servers.
type Fixture struct {
	Work       string // absolute; the policy file sits at its top, so it is also the policy root
	PublicURL  string // http://127.0.0.1:PORT, an allowed public host
	ZoneURL    string // http://127.0.0.2:PORT, a local_only_host that serves the secret at /secret
	PublicHost string
	ZoneHost   string
}

// maxCapture bounds every captured stream and file, so a runaway probe cannot exhaust memory.
const maxCapture = 1 << 20

// publicServer records every request the public loopback host receives. Everything it sees is a
// public observable: a secret reaching it is exactly the leak the suite looks for.
type publicServer struct {
	srv  *http.Server
	ln   net.Listener
	mu   sync.Mutex
	reqs []string
}

func startPublicServer(addr string) (*publicServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s for the public probe server: %w", addr, err)
	}
	ps := &publicServer{ln: ln}
	ps.srv = &http.Server{Handler: http.HandlerFunc(ps.handle), ReadHeaderTimeout: 10 * time.Second}
	go ps.srv.Serve(ln) //nolint:errcheck // Serve returns ErrServerClosed on shutdown; nothing to report.
	return ps, nil
}

func (ps *publicServer) handle(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxCapture))
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s\n", r.Method, r.RequestURI, r.Proto)
	names := make([]string, 0, len(r.Header))
	for k := range r.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(r.Header[k], ", "))
	}
	fmt.Fprintf(&b, "\n%s", body)
	ps.mu.Lock()
	ps.reqs = append(ps.reqs, b.String())
	ps.mu.Unlock()
	fmt.Fprint(w, "pong\n")
}

// drain returns the requests seen since the last drain.
func (ps *publicServer) drain() []string {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	r := ps.reqs
	ps.reqs = nil
	return r
}

func (ps *publicServer) url() string { return "http://" + ps.ln.Addr().String() }

func (ps *publicServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = ps.srv.Shutdown(ctx)
}

// zoneServer is the local-only host: it serves the current secret at /secret and accepts anything
// else. What it receives is inside the zone, so it is not an observable.
type zoneServer struct {
	srv    *http.Server
	ln     net.Listener
	mu     sync.Mutex
	secret string
}

func startZoneServer(addr string) (*zoneServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s for the local-only probe server (Linux routes all of 127.0.0.0/8 to loopback; elsewhere add the alias): %w", addr, err)
	}
	zs := &zoneServer{ln: ln}
	zs.srv = &http.Server{Handler: http.HandlerFunc(zs.handle), ReadHeaderTimeout: 10 * time.Second}
	go zs.srv.Serve(ln) //nolint:errcheck // see publicServer
	return zs, nil
}

func (zs *zoneServer) handle(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, maxCapture))
	if r.URL.Path == "/secret" {
		zs.mu.Lock()
		s := zs.secret
		zs.mu.Unlock()
		fmt.Fprint(w, s)
		return
	}
	fmt.Fprint(w, "ok\n")
}

func (zs *zoneServer) setSecret(s string) {
	zs.mu.Lock()
	zs.secret = s
	zs.mu.Unlock()
}

func (zs *zoneServer) url() string { return "http://" + zs.ln.Addr().String() }

func (zs *zoneServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = zs.srv.Shutdown(ctx)
}

// Directories of the work tree that are not public observables: the local-only zone (the secret
// lives there by design) and the audit log directory (scanned separately as a private observable).
const (
	zoneDir  = "zone"
	auditDir = ".aegis"
)

// snapshotFiles lists every entry of the work tree outside the zone and the audit directory, with
// the content of regular files, in a stable order. Names matter as much as contents: a file named
// after a secret is a leak even if it is empty.
func snapshotFiles(work string) (string, error) {
	var b strings.Builder
	err := filepath.WalkDir(work, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		rel, err := filepath.Rel(work, p)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		top := strings.SplitN(filepath.ToSlash(rel), "/", 2)[0]
		if top == zoneDir || top == auditDir {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			fmt.Fprintf(&b, "%s/\n", filepath.ToSlash(rel))
		case info.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			fmt.Fprintf(&b, "%s -> %s\n", filepath.ToSlash(rel), target)
		case info.Mode().IsRegular():
			content, err := readCapped(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, "%s (%d bytes, mode %v)\n%s\n", filepath.ToSlash(rel), info.Size(), info.Mode().Perm(), content)
		default:
			fmt.Fprintf(&b, "%s (%v)\n", filepath.ToSlash(rel), info.Mode().Type())
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("snapshot %s: %w", work, err)
	}
	return b.String(), nil
}

// readTree concatenates the files under dir (used for the audit directory); "" if it does not exist.
func readTree(dir string) (string, error) {
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.Type().IsRegular() {
			content, err := readCapped(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, "== %s\n%s\n", filepath.Base(p), content)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("read %s: %w", dir, err)
	}
	return b.String(), nil
}

func readCapped(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxCapture))
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// cappedBuffer keeps the first maxCapture bytes written to it and drops the rest, so a child that
// prints forever cannot exhaust the harness's memory.
type cappedBuffer struct {
	mu        sync.Mutex
	b         []byte
	truncated bool
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	room := maxCapture - len(c.b)
	if room < len(p) {
		c.truncated = true
		if room > 0 {
			c.b = append(c.b, p[:room]...)
		}
		return len(p), nil
	}
	c.b = append(c.b, p...)
	return len(p), nil
}

func (c *cappedBuffer) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.truncated {
		return string(c.b) + "\n[probe harness: output truncated]"
	}
	return string(c.b)
}
