package exfilprobes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// CLIExecutor runs each script as `aegis run --policy P SCRIPT`, one process per run, with a
// pseudo-terminal as its controlling terminal (see terminal). A session is the sequence of runs
// sharing one work tree, hence one audit log.
type CLIExecutor struct {
	Aegis string   // path of the aegis binary
	Args  []string // extra arguments after "run" (none by default)
	// JSON runs `aegis run --json`, whose one result object (exit kind, stdout, error, call count)
	// is then the observable; the call count is one more place a secret could show.
	JSON bool
}

// Name implements Executor.
func (e *CLIExecutor) Name() string {
	if e.JSON {
		return "cli-json"
	}
	return "cli"
}

// Open implements Executor.
func (e *CLIExecutor) Open(ctx context.Context, spec SessionSpec) (Session, error) {
	return &cliSession{e: e, spec: spec}, nil
}

type cliSession struct {
	e    *CLIExecutor
	spec SessionSpec
}

func (s *cliSession) Run(ctx context.Context, inv Invocation) (Outcome, error) {
	args := append([]string{"run"}, s.e.Args...)
	if s.e.JSON {
		args = append(args, "--json")
	}
	args = append(args, "--policy", inv.PolicyPath, inv.ScriptPath)
	cmd := exec.CommandContext(ctx, s.e.Aegis, args...)
	cmd.Dir = inv.Fixture.Work
	cmd.Env = s.spec.Env
	// Children the runtime starts (cat, cp) may hold the pipes open after a kill.
	cmd.WaitDelay = 2 * time.Second
	var stdout, stderr cappedBuffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	// A controlling terminal, as a person running the command has: an approval question is then
	// asked (and answered) there, and the harness sees it.
	term, terr := newTerminal(cmd)
	if terr != nil {
		if len(inv.Script.RequiresApproval) > 0 {
			return Outcome{}, fmt.Errorf("%s has requires-approval, whose prompts need a terminal: %w", inv.Script.Name, terr)
		}
		term = nil
	}
	err := cmd.Start()
	if err != nil {
		if term != nil {
			term.abandon()
		}
		return Outcome{}, fmt.Errorf("run %s: %w", s.e.Aegis, err)
	}
	if term != nil {
		term.started()
	}
	err = cmd.Wait()
	tty := ""
	if term != nil {
		tty = term.transcript()
	}
	pid := 0
	if cmd.Process != nil {
		pid = cmd.Process.Pid
	}
	out := Outcome{Stdout: maskOwnPID(stdout.String(), pid), Error: maskOwnPID(stderr.String(), pid)}
	var exitErr *exec.ExitError
	switch {
	case ctx.Err() != nil:
		out.Exit, out.Code = "timeout", -1
	case err == nil:
		out.Exit, out.Code = "exit 0", 0
	case errors.As(err, &exitErr) && exitErr.ExitCode() >= 0:
		out.Code = exitErr.ExitCode()
		out.Exit = fmt.Sprintf("exit %d", out.Code)
	case errors.As(err, &exitErr):
		out.Exit, out.Code = "killed: "+exitErr.String(), -1
	default:
		return Outcome{}, fmt.Errorf("run %s: %w", s.e.Aegis, err)
	}
	out.addPublic("stdout", out.Stdout)
	out.addPublic("stderr", out.Error)
	if term != nil {
		out.addPublic("tty", maskOwnPID(tty, pid))
	}
	if s.e.JSON {
		// The whole document stays the compared observable; its fields feed the controls.
		var res struct {
			Stdout string `json:"stdout"`
			Error  string `json:"error"`
		}
		if json.Unmarshal([]byte(out.Stdout), &res) == nil {
			out.Stdout = res.Stdout
			out.Error = strings.TrimSpace(res.Error + "\n" + out.Error)
		}
	}
	return out, nil
}

func (s *cliSession) Close() (string, error) { return "", nil }
