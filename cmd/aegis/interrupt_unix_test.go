//go:build unix

package main

import (
	"context"
	"os"
	"syscall"
	"testing"
	"time"
)

func TestInterruptibleCancelsOnTheFirstSignal(t *testing.T) {
	// Once arm returns, the handler is in place: a SIGINT cancels the
	// run's context instead of ending the process (which would end this
	// test binary too).
	ctx, arm, stop := interruptible(context.Background())
	defer stop()
	arm()
	arm() // again: a no-op
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("SIGINT did not cancel the context")
	}
}
