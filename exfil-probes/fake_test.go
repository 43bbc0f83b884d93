package exfilprobes

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// This file holds a fake runtime used to test the harness without the real binaries: idealRun
// behaves as a correct Aegis would on every script of the catalog (labelled output redacted,
// controls satisfied, the abort budget enforced), and a test can override any script's behaviour
// to play a leaking runtime.

type fakeResult struct {
	code   int
	stdout string
	stderr string
}

// fakeState is what a session remembers: the number of secret-dependent aborts so far.
type fakeState struct {
	aborts int
}

var publicURLPattern = regexp.MustCompile(`http://127\.0\.0\.1:[0-9]+`)

func scriptName(text string) string {
	for _, l := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(l, "# name:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// idealRun plays a correct runtime for one run of a catalog script.
func idealRun(text, work string, env map[string]string, st *fakeState, run int) fakeResult {
	name := scriptName(text)
	dir := "probes"
	if strings.HasPrefix(name, "u") || strings.HasPrefix(name, "c0") {
		dir = "controls"
	}
	sc, err := ParseScript(dir+"/"+name+".star", text)
	if err != nil {
		return fakeResult{code: 5, stderr: "fake: " + err.Error()}
	}
	secret := env["PROBE_SECRET"]
	pub := env["PROBE_PUBLIC"]
	switch sc.Kind {
	case KindProbe:
		return fakeResult{stdout: Marker + "\n[REDACTED]\n"}
	case KindBudget:
		if st.aborts >= DefaultAbortBudget {
			return fakeResult{code: 2, stderr: "error: env.read refused: [runtime]." + BudgetKnob + " (16) reached for env:PROBE_SECRET\n"}
		}
		if secretBits(secret, run+1)[run] == '1' {
			st.aborts++
			return fakeResult{code: 1, stdout: Marker + "\n", stderr: "error: [REDACTED]\n"}
		}
		return fakeResult{stdout: Marker + "\nbit clear\n"}
	case KindUtility:
		for _, e := range sc.ExpectFiles {
			rel, content, _ := strings.Cut(e, "=")
			_ = os.WriteFile(filepath.Join(work, rel), []byte(content), 0o644)
		}
		for _, e := range sc.ExpectZone {
			n, tr, _ := strings.Cut(e, "=")
			p := filepath.Join(work, zoneDir, n)
			_ = os.MkdirAll(filepath.Dir(p), 0o755)
			_ = os.WriteFile(p, []byte(namedTransform(tr, secret)), 0o644)
		}
		for _, e := range sc.ExpectRequest {
			_, path, _ := strings.Cut(e, " ")
			fakeGet(publicURLPattern.FindString(text) + path)
		}
		return fakeResult{code: sc.ExpectExit, stdout: strings.Join(sc.ExpectStdout, "\n") + "\n"}
	case KindCanary:
		switch name {
		case "c01-canary-stdout":
			return fakeResult{stdout: pub + "\n"}
		case "c02-canary-file":
			_ = os.WriteFile(filepath.Join(work, "public", "canary.txt"), []byte(pub), 0o644)
			return fakeResult{stdout: "written\n"}
		case "c03-canary-request":
			fakeGet(publicURLPattern.FindString(text) + "/canary?v=" + pub)
			return fakeResult{stdout: "sent\n"}
		case "c04-canary-error":
			return fakeResult{code: 1, stderr: "error: " + pub + "\n"}
		case "c05-canary-exit":
			if strings.ContainsRune("ab", rune(pub[7])) {
				return fakeResult{code: 1, stderr: "error: stop\n"}
			}
			return fakeResult{stdout: "done\n"}
		}
	}
	return fakeResult{code: 5, stderr: "fake: no behaviour for " + name}
}

func fakeGet(url string) {
	resp, err := http.Get(url)
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

func envMap(env []string) map[string]string {
	m := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// fakeExecutor runs idealRun in process, unless override claims the run.
type fakeExecutor struct {
	override func(name, work string, env map[string]string, run int) (fakeResult, bool)
	logs     func(env map[string]string) string
}

func (f *fakeExecutor) Name() string { return "fake" }

func (f *fakeExecutor) Open(ctx context.Context, spec SessionSpec) (Session, error) {
	return &fakeSession{f: f, spec: spec, env: envMap(spec.Env)}, nil
}

type fakeSession struct {
	f    *fakeExecutor
	spec SessionSpec
	env  map[string]string
	st   fakeState
}

func (s *fakeSession) Run(ctx context.Context, inv Invocation) (Outcome, error) {
	var r fakeResult
	claimed := false
	if s.f.override != nil {
		r, claimed = s.f.override(inv.Script.Name, inv.Fixture.Work, s.env, inv.Run)
	}
	if !claimed {
		r = idealRun(inv.Text, inv.Fixture.Work, s.env, &s.st, inv.Run)
	}
	o := Outcome{Exit: fmt.Sprintf("exit %d", r.code), Code: r.code, Stdout: r.stdout, Error: r.stderr}
	o.addPublic("stdout", r.stdout)
	o.addPublic("stderr", r.stderr)
	return o, nil
}

func (s *fakeSession) Close() (string, error) {
	if s.f.logs != nil {
		return s.f.logs(s.env), nil
	}
	return "", nil
}
