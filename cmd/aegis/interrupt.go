package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// interruptible returns a context that the first SIGINT or SIGTERM
// cancels; a second one ends the process. os/signal starts a thread of its
// own and hands it every signal it enables before Notify returns, a
// noticeable share of a one-line run's start, so the handler is installed
// in the background, beside the policy's loading: ready waits until it is
// in place, and must be called before the script starts. stop releases it.
func interruptible(parent context.Context) (ctx context.Context, ready, stop func()) {
	ctx, cancel := context.WithCancel(parent)
	installed := make(chan struct{})
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		close(installed)
		select {
		case <-sig:
			cancel()
		case <-ctx.Done():
		}
		signal.Stop(sig) // from now on a signal ends the process
	}()
	return ctx, func() { <-installed }, cancel
}
