package main

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/aegisdev/aegis/audit"
)

// interruptible returns a context that the first SIGINT or SIGTERM cancels
// once arm has been called; a second one ends the process. Before arm, a
// signal ends the process at once, as it does while aegis starts. arm
// installs the handler (the first call; the others wait until it is in
// place). stop releases it.
//
// os/signal receives signals on a thread of its own, a noticeable share of
// the start of a one-line run, which finishes before a signal could matter
// to it: runArming says when a run arms the handler.
func interruptible(parent context.Context) (ctx context.Context, arm, stop func()) {
	ctx, cancel := context.WithCancel(parent)
	var once sync.Once
	arm = func() {
		once.Do(func() {
			sig := make(chan os.Signal, 1)
			signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
			go func() {
				select {
				case <-sig:
					cancel()
				case <-ctx.Done():
				}
				signal.Stop(sig) // from now on a signal ends the process
			}()
		})
	}
	return ctx, arm, cancel
}

// armDelay is how long a run computes before its interrupt handler is
// armed even if it has done nothing yet.
const armDelay = 10 * time.Millisecond

// runArming arms a run's interrupt handler at the run's first audit record
// (the runner hands each record to the sink once it is in the log, and
// before the effect it records: every effect is recorded before it
// happens, and so is every refusal, so no effect and no local-only read
// comes before it; a signal during that first append still ends the
// process), before its first question on the terminal, and armDelay after
// it starts at the latest, so that a long computation ends as cancelled
// too. It returns the sink and the confirm
// function to give the runner, and a function that cancels the timer.
func runArming(arm func(), confirm confirmFunc) (sink audit.Sink, armedConfirm confirmFunc, done func() bool) {
	t := time.AfterFunc(armDelay, arm)
	armedConfirm = func(ctx context.Context, capability, target string) (bool, error) {
		arm()
		return confirm(ctx, capability, target)
	}
	return armingSink(arm), armedConfirm, t.Stop
}

// armingSink arms the interrupt handler when it receives an audit event.
type armingSink func()

func (a armingSink) Append(audit.Event) error {
	a()
	return nil
}
