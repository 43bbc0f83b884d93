package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"golang.org/x/term"

	"github.com/aegisdev/aegis/approval"
)

// confirmFunc is the requires_approval hook of a run.
type confirmFunc = func(ctx context.Context, capability, target string) (bool, error)

// approver returns the requires_approval hook of one `aegis run`: every
// call with --yes, a question on the controlling terminal when there is
// one, otherwise a refusal that says how to approve.
func approver(yes bool) (confirm confirmFunc, closeFn func()) {
	if yes {
		return func(context.Context, string, string) (bool, error) { return true, nil }, func() {}
	}
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err == nil && !term.IsTerminal(int(tty.Fd())) {
		tty.Close()
		err = fmt.Errorf("/dev/tty is not a terminal")
	}
	if err != nil {
		return noTerminal, func() {}
	}
	pr := newPrompter(tty, tty)
	return pr.confirm, func() { tty.Close() }
}

// noTerminal refuses: there is nobody to ask.
func noTerminal(context.Context, string, string) (bool, error) {
	return false, &approval.Refusal{
		Reason:  "aegis run has no terminal to ask on",
		Allow:   "run it from a terminal to be asked, or pass --yes to approve every requires_approval call of the run",
		Unasked: true,
	}
}

// prompter asks on a terminal, one question at a time, and remembers the
// calls approved for the rest of the run.
type prompter struct {
	out   io.Writer
	lines chan string // complete lines typed on the terminal; closed at EOF
	mu    sync.Mutex  // one question at a time
	mem   approval.Memory
}

// newPrompter reads answers from in on a goroutine of its own, so that a
// question can be abandoned when the run is stopped; closing in ends it.
func newPrompter(in io.Reader, out io.Writer) *prompter {
	p := &prompter{out: out, lines: make(chan string, 8)}
	go func() {
		defer close(p.lines)
		r := bufio.NewReader(in)
		for {
			line, err := r.ReadString('\n')
			if line != "" {
				select {
				case p.lines <- line:
				default: // typed while nobody asked: dropped below anyway
				}
			}
			if err != nil {
				return
			}
		}
	}()
	return p
}

func (p *prompter) confirm(ctx context.Context, capability, target string) (bool, error) {
	req := approval.FromContext(ctx, capability, target)
	if p.mem.Approved(req) {
		return true, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mem.Approved(req) { // approved for the session while this call waited
		return true, nil
	}
	// An answer typed before the question was shown does not answer it.
	for drained := false; !drained; {
		select {
		case _, ok := <-p.lines:
			if !ok {
				return false, &approval.Refusal{Reason: "the terminal was closed", Unasked: true}
			}
		default:
			drained = true
		}
	}
	choices := "[o]nce, for this [s]ession (the rest of this run), [N]o"
	if !req.Rememberable() {
		choices = "[o]nce, [N]o"
	}
	fmt.Fprintf(p.out, "\naegis: the script asks for a call that needs your approval (requires_approval):\n%sAllow it? %s: ",
		req.Text("  "), choices)
	select {
	case line, ok := <-p.lines:
		if !ok {
			fmt.Fprintln(p.out)
			return false, &approval.Refusal{Reason: "the terminal was closed before an answer", Unasked: true}
		}
		switch parseAnswer(line, req.Rememberable()) {
		case approval.Once:
			return true, nil
		case approval.Session:
			p.mem.Remember(req)
			fmt.Fprintf(p.out, "aegis: approved; the same call will not be asked about again in this run\n")
			return true, nil
		}
		return false, &approval.Refusal{Reason: "declined at the terminal prompt"}
	case <-ctx.Done():
		fmt.Fprintf(p.out, "\naegis: question withdrawn: the run was stopped\n")
		return false, &approval.Refusal{Reason: "the run was stopped while the question was open"}
	}
}

// parseAnswer reads a terminal answer; anything not understood is a no.
func parseAnswer(line string, session bool) approval.Answer {
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "o", "once", "y", "yes":
		return approval.Once
	case "s", "session":
		if session {
			return approval.Session
		}
	}
	return approval.Deny
}
