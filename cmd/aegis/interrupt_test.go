package main

import (
	"context"
	"os"
	"syscall"
	"testing"
	"time"
)

func TestInterruptibleCancelsOnTheFirstSignal(t *testing.T) {
	// Once ready returns, the handler is in place: a SIGINT cancels the
	// run's context instead of ending the process (which would end this
	// test binary too).
	ctx, ready, stop := interruptible(context.Background())
	defer stop()
	ready()
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("SIGINT did not cancel the context")
	}
}

func TestInterruptibleStop(t *testing.T) {
	ctx, ready, stop := interruptible(context.Background())
	ready()
	stop()
	if ctx.Err() == nil {
		t.Fatal("stop did not release the context")
	}
}
