package exfilprobes

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// SessionSpec is everything an executor needs to start a session for one script and one secret.
type SessionSpec struct {
	Script     *Script
	Fixture    Fixture
	PolicyPath string
	Env        []string // the complete environment of the child, secret included
}

// Invocation is one run inside a session.
type Invocation struct {
	Script     *Script
	Fixture    Fixture
	PolicyPath string
	ScriptPath string // the expanded script, written into the work directory
	Text       string // the same text, for executors that send it rather than a path
	Run        int
}

// Executor starts sessions. A session is what the runtime counts secret-dependent aborts over:
// one audit log for `aegis run`, one server process for `aegis-mcp`.
type Executor interface {
	Name() string
	Open(ctx context.Context, spec SessionSpec) (Session, error)
}

// Session runs scripts. Run's error means the harness could not run the script at all (a spawn or
// protocol failure), never that the script failed: that is part of the Outcome.
type Session interface {
	Run(ctx context.Context, inv Invocation) (Outcome, error)
	// Close ends the session and returns the logs only the operator sees.
	Close() (logs string, err error)
}

// afterSession is a session whose peer may still send something after its last answer (an MCP
// server's late notification); Close collects it and After returns it, a public observable of the
// session's last run.
type afterSession interface {
	After() string
}

// Config describes one pass of the suite through one executor.
type Config struct {
	Executor       Executor
	Scripts        []*Script
	Secrets        []Secret // defaults to Secrets()
	PolicyTemplate string   // defaults to DefaultPolicy()
	Root           string   // directory for the work trees; must exist
	Jobs           int      // scripts run in parallel (each with its own servers); default 2
	RunTimeout     time.Duration
	AbortBudget    int // expected [runtime].max_secret_dependent_aborts; default 16
	PublicAddr     string
	ZoneAddr       string
}

// DefaultAbortBudget is the runtime's default for [runtime].max_secret_dependent_aborts.
const DefaultAbortBudget = 16

// SecretObs is everything observed for one secret: one Outcome per run of the session.
type SecretObs struct {
	Secret Secret    `json:"secret"`
	Runs   []Outcome `json:"runs"`
	// Checks lists failed utility expectations (files, zone, requests) found right after the runs.
	Checks []string `json:"checks,omitempty"`
	Err    string   `json:"error,omitempty"`
}

// Run executes every script of cfg and judges it.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Executor == nil {
		return nil, errors.New("probe harness: no executor")
	}
	if len(cfg.Secrets) == 0 {
		cfg.Secrets = Secrets()
	}
	if len(cfg.Secrets) < 3 {
		return nil, errors.New("probe harness: at least three secrets are needed for a differential verdict")
	}
	if cfg.PolicyTemplate == "" {
		cfg.PolicyTemplate = DefaultPolicy()
	}
	if cfg.Jobs <= 0 {
		cfg.Jobs = 2
	}
	if cfg.RunTimeout <= 0 {
		cfg.RunTimeout = 60 * time.Second
	}
	if cfg.AbortBudget <= 0 {
		cfg.AbortBudget = DefaultAbortBudget
	}
	if cfg.PublicAddr == "" {
		cfg.PublicAddr = "127.0.0.1:0"
	}
	if cfg.ZoneAddr == "" {
		cfg.ZoneAddr = "127.0.0.2:0"
	}
	root, err := filepath.Abs(cfg.Root)
	if err != nil {
		return nil, fmt.Errorf("probe harness: work root: %w", err)
	}
	cfg.Root = root
	scan := newScanner(cfg.Secrets)

	results := make([]ScriptResult, len(cfg.Scripts))
	work := make(chan int)
	errs := make(chan error, cfg.Jobs)
	var wg sync.WaitGroup
	for w := 0; w < cfg.Jobs; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ws, err := newWorker(cfg)
			if err != nil {
				errs <- err
				for range work { // keep the feeder from blocking
				}
				return
			}
			defer ws.close()
			for i := range work {
				results[i] = ws.runScript(ctx, cfg.Scripts[i], scan)
			}
		}()
	}
	for i := range cfg.Scripts {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	return newReport(cfg.Executor.Name(), results), nil
}

type worker struct {
	cfg  Config
	pub  *publicServer
	zone *zoneServer
}

func newWorker(cfg Config) (*worker, error) {
	pub, err := startPublicServer(cfg.PublicAddr)
	if err != nil {
		return nil, err
	}
	zone, err := startZoneServer(cfg.ZoneAddr)
	if err != nil {
		pub.close()
		return nil, err
	}
	return &worker{cfg: cfg, pub: pub, zone: zone}, nil
}

func (w *worker) close() {
	w.pub.close()
	w.zone.close()
}

func hostOf(url string) string {
	h := strings.TrimPrefix(url, "http://")
	if i := strings.LastIndex(h, ":"); i >= 0 {
		h = h[:i]
	}
	return h
}

func (w *worker) runScript(ctx context.Context, sc *Script, scan *scanner) ScriptResult {
	fx := Fixture{
		Work:       filepath.Join(w.cfg.Root, w.cfg.Executor.Name(), sc.Name),
		PublicURL:  w.pub.url(),
		ZoneURL:    w.zone.url(),
		PublicHost: hostOf(w.pub.url()),
		ZoneHost:   hostOf(w.zone.url()),
	}
	var obs []SecretObs
	for _, s := range w.cfg.Secrets {
		obs = append(obs, w.runSecret(ctx, sc, fx, s))
	}
	var repeat *SecretObs
	if sc.Kind != KindBudget {
		s := w.cfg.Secrets[0]
		s.ID += "'"
		r := w.runSecret(ctx, sc, fx, s)
		repeat = &r
	}
	return Judge(sc, obs, repeat, scan, w.cfg.AbortBudget)
}

// runSecret rebuilds the work tree for one secret and runs the script's session in it.
func (w *worker) runSecret(ctx context.Context, sc *Script, fx Fixture, s Secret) SecretObs {
	so := SecretObs{Secret: s}
	if err := ctx.Err(); err != nil {
		so.Err = err.Error()
		return so
	}
	policyPath, err := resetWork(fx, PolicyFor(sc, w.cfg.PolicyTemplate, fx), s)
	if err != nil {
		so.Err = err.Error()
		return so
	}
	w.zone.setSecret(s.Value)
	w.pub.drain()
	spec := SessionSpec{Script: sc, Fixture: fx, PolicyPath: policyPath, Env: childEnv(fx, s)}
	sess, err := w.cfg.Executor.Open(ctx, spec)
	if err != nil {
		so.Err = fmt.Sprintf("start %s session: %v", w.cfg.Executor.Name(), err)
		return so
	}
	var reqs []string
	for run := 0; run < sc.Runs; run++ {
		text := Expand(sc.Text, fx, run)
		scriptPath := filepath.Join(fx.Work, "probe.star")
		if err := os.WriteFile(scriptPath, []byte(text), 0o644); err != nil {
			so.Err = fmt.Sprintf("write script: %v", err)
			break
		}
		rctx, cancel := context.WithTimeout(ctx, w.cfg.RunTimeout)
		out, err := sess.Run(rctx, Invocation{Script: sc, Fixture: fx, PolicyPath: policyPath, ScriptPath: scriptPath, Text: text, Run: run})
		cancel()
		if err != nil {
			so.Err = fmt.Sprintf("run %d: %v", run, err)
			break
		}
		reqs = w.pub.drain()
		out.addPublic("requests", strings.Join(reqs, "\n----\n"))
		files, err := snapshotFiles(fx.Work)
		if err != nil {
			so.Err = err.Error()
			break
		}
		out.addPublic("files", files)
		so.Runs = append(so.Runs, out)
	}
	logs, err := sess.Close()
	if err != nil && so.Err == "" {
		so.Err = fmt.Sprintf("close %s session: %v", w.cfg.Executor.Name(), err)
	}
	audit, err := readTree(filepath.Join(fx.Work, auditDir))
	if err != nil && so.Err == "" {
		so.Err = err.Error()
	}
	if len(so.Runs) > 0 {
		last := &so.Runs[len(so.Runs)-1]
		last.addPrivate("logs", logs)
		last.addPrivate("audit", audit)
		if a, ok := sess.(afterSession); ok {
			last.addPublic("after", a.After())
		}
	}
	if sc.Kind == KindUtility && so.Err == "" {
		so.Checks = checkUtilityEffects(sc, fx, s, reqs)
	}
	return so
}

// childEnv is the whole environment of the runtime under test: nothing is inherited but PATH, so
// no variable of the harness's own environment can blur the comparison.
func childEnv(fx Fixture, s Secret) []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + filepath.Join(fx.Work, "home"),
		"LANG=C",
		"PROBE_SECRET=" + s.Value,
		"PROBE_PUBLIC=" + s.Public,
	}
}

// resetWork recreates the work tree from nothing, so that no run sees what an earlier one left.
// Every secret of a script uses the same path, so paths in messages do not differ between them.
func resetWork(fx Fixture, policy string, s Secret) (string, error) {
	if err := os.RemoveAll(fx.Work); err != nil {
		return "", fmt.Errorf("reset %s: %w", fx.Work, err)
	}
	files := map[string]string{
		"public/hello.txt":  "hello public\n",
		"public/linked.txt": "public linked\n",
		"zone/secret.txt":   s.Value,
		"zone/notes.txt":    "zone notes\n",
	}
	// One deletable file per first character a secret can start with: a probe that deletes the
	// one named after its secret shows up as a difference between the file lists.
	for _, sec := range Secrets() {
		files["public/del-"+sec.Value[:1]+".txt"] = "delete me\n"
	}
	for _, d := range []string{"public", zoneDir, "home"} {
		if err := os.MkdirAll(filepath.Join(fx.Work, d), 0o755); err != nil {
			return "", fmt.Errorf("create %s: %w", d, err)
		}
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(fx.Work, n), []byte(files[n]), 0o644); err != nil {
			return "", fmt.Errorf("write fixture %s: %w", n, err)
		}
	}
	// Symlinks across the zone boundary: a zone name for a public file (existing and not yet
	// created) and a public name for the zone's secret. A runtime that checks the spelling rather
	// than the real path writes or reads across the boundary.
	links := [][2]string{
		{"zone/out-link.txt", "../public/linked.txt"},
		{"zone/dangling-link.txt", "../public/dangling.txt"},
		{"public/peek.txt", "../zone/secret.txt"},
	}
	for _, l := range links {
		if err := os.Symlink(l[1], filepath.Join(fx.Work, l[0])); err != nil {
			return "", fmt.Errorf("create fixture symlink %s: %w", l[0], err)
		}
	}
	policyPath := filepath.Join(fx.Work, "aegis.toml")
	if err := os.WriteFile(policyPath, []byte(policy), 0o644); err != nil {
		return "", fmt.Errorf("write policy: %w", err)
	}
	if err := PinTimes(fx.Work); err != nil {
		return "", err
	}
	return policyPath, nil
}

// checkUtilityEffects verifies the side effects a utility script promises: files it wrote, the
// zone file holding a transform of the secret, requests the public server saw.
func checkUtilityEffects(sc *Script, fx Fixture, s Secret, reqs []string) []string {
	var fails []string
	for _, e := range sc.ExpectFiles {
		rel, want, _ := strings.Cut(e, "=")
		got, err := os.ReadFile(filepath.Join(fx.Work, rel))
		if err != nil {
			fails = append(fails, fmt.Sprintf("%s: expected file %s: %v", s.ID, rel, err))
		} else if string(got) != want {
			fails = append(fails, fmt.Sprintf("%s: file %s holds %q, want %q", s.ID, rel, clip(string(got), 60), want))
		}
	}
	for _, e := range sc.ExpectZone {
		name, tr, _ := strings.Cut(e, "=")
		got, err := os.ReadFile(filepath.Join(fx.Work, zoneDir, name))
		if err != nil {
			fails = append(fails, fmt.Sprintf("%s: expected zone file %s: %v", s.ID, name, err))
		} else if string(got) != namedTransform(tr, s.Value) {
			fails = append(fails, fmt.Sprintf("%s: zone file %s does not hold %s(secret)", s.ID, name, tr))
		}
	}
	for _, want := range sc.ExpectRequest {
		found := false
		for _, r := range reqs {
			if strings.HasPrefix(r, want+" ") {
				found = true
			}
		}
		if !found {
			fails = append(fails, fmt.Sprintf("%s: the public server never saw %q", s.ID, want))
		}
	}
	return fails
}
