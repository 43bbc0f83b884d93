package main

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aegisdev/aegis/audit"
	"github.com/aegisdev/aegis/policy"
	"github.com/aegisdev/aegis/runner"
)

func TestInterruptibleStop(t *testing.T) {
	ctx, arm, stop := interruptible(context.Background())
	arm()
	stop()
	if ctx.Err() == nil {
		t.Fatal("stop did not release the context")
	}
}

// The handler is armed at a run's first audit record, before its first
// question, and armDelay after it starts in any case.
func TestRunArming(t *testing.T) {
	var armed atomic.Int32
	arm := func() { armed.Add(1) }

	sink, confirm, disarm := runArming(arm, func(context.Context, string, string) (bool, error) {
		if armed.Load() == 0 {
			t.Error("a question was asked before the handler was armed")
		}
		return true, nil
	})
	disarm()
	if err := sink.Append(audit.Event{}); err != nil || armed.Load() != 1 {
		t.Errorf("an audit record did not arm the handler (err %v, armed %d times)", err, armed.Load())
	}
	armed.Store(0)
	if ok, err := confirm(context.Background(), "fs.write", "x"); !ok || err != nil {
		t.Errorf("confirm = %v, %v", ok, err)
	}

	armed.Store(0)
	_, _, disarm = runArming(arm, nil)
	deadline := time.Now().Add(10 * time.Second)
	for armed.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if armed.Load() == 0 {
		t.Error("a run computing for long was never armed")
	}
	disarm()

	armed.Store(0)
	_, _, disarm = runArming(arm, nil)
	if !disarm() {
		t.Fatal("the timer fired at once")
	}
	time.Sleep(3 * armDelay)
	if armed.Load() != 0 {
		t.Error("a run that ended before armDelay armed the handler")
	}
}

// Through the runner, the handler is armed before the script's first effect
// happens: a signal can then not end the process between an effect (a
// local-only read, say) and the record of how the run ended.
func TestRunArmsBeforeTheFirstEffect(t *testing.T) {
	dir := project(t, map[string]string{
		"aegis.toml": "inherits = \"none\"\n[filesystem]\nwrite_allow = [\"out/**\"]\n",
	})
	p, err := policy.Load(filepath.Join(dir, "aegis.toml"))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out", "a.txt")
	var armedBeforeEffect, armed atomic.Bool
	arm := func() {
		if armed.CompareAndSwap(false, true) {
			_, err := os.Stat(out)
			armedBeforeEffect.Store(os.IsNotExist(err))
		}
	}
	sink, confirm, disarm := runArming(arm, func(context.Context, string, string) (bool, error) { return false, nil })
	disarm() // only the record may arm it here
	res := runner.Run(context.Background(), runner.Options{Policy: p, Confirm: confirm, Audit: sink},
		runner.Request{Script: []byte("fs.write(\"out/a.txt\", \"x\")\n"), Filename: "task.star"})
	if res.ExitCode != 0 {
		t.Fatalf("run: %s %s", res.ExitKind, res.Error)
	}
	if _, err := os.Stat(out); err != nil {
		t.Fatalf("the write did not happen: %v", err)
	}
	if !armed.Load() || !armedBeforeEffect.Load() {
		t.Errorf("armed %v, before the write %v", armed.Load(), armedBeforeEffect.Load())
	}
}
