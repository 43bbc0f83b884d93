package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aegisdev/aegis/policy"
	"github.com/aegisdev/aegis/runner"
)

// The JSON contract (docs/cli.md, "JSON output"): a command run with --json
// prints exactly one JSON object on stdout on every exit, errors included.
// Every object opens with the same fields:
//
//	ok         true exactly when the exit status is 0
//	exit_code  the exit status
//	exit_kind  the kind of outcome: a run kind (runner.Kind), or one below
//	error      when ok is false: what went wrong and how to fix it
//	problems   when a policy did not load: each problem with file, line, key
//
// and goes on with the command's own fields. A command writes its object
// with emitJSON; when a command fails before it could (a usage error, a
// policy that does not load), run prints the common fields alone.

// Exit kinds the CLI adds to the run kinds.
const (
	kindUsage       = "usage_error"  // exit 5: the command was misused (unknown flag, wrong arguments)
	kindCheckFailed = "check_failed" // exit 1: a check found problems (audit verify, doctor, probe)
)

// outcome is the common part of a JSON object.
type outcome struct {
	code     int
	kind     string
	err      string
	problems []policy.Problem
}

// outcomeOf classifies the error a command ends with.
func outcomeOf(err error) outcome {
	code := exitCode(err)
	o := outcome{code: code, kind: kindOfCode(code)}
	if err == nil {
		return o
	}
	o.err = err.Error()
	var (
		ue *exitError
		le *policy.LoadError
	)
	if errors.As(err, &ue) && ue.usage {
		o.kind = kindUsage
	}
	if errors.As(err, &le) {
		o.problems = le.Problems
	}
	return o
}

// kindOfCode names the outcome of an exit status.
func kindOfCode(code int) string {
	if code == exitCheckFailed {
		return kindCheckFailed
	}
	for _, k := range runner.Kinds() {
		if k.Code() == code {
			return string(k)
		}
	}
	return kindCheckFailed
}

// exitCheckFailed is the status of a check that found problems.
const exitCheckFailed = 1

// jsonState records, for one invocation, whether its object was printed.
type jsonState struct{ written bool }

type jsonStateKey struct{}

func withJSONState(ctx context.Context) (context.Context, *jsonState) {
	st := &jsonState{}
	return context.WithValue(ctx, jsonStateKey{}, st), st
}

// emitJSON prints body (a struct or map, or nil) as the command's one JSON
// object, with the common fields of o in front; fields body has already
// (run's exit_kind, exit_code, error) are not repeated.
func emitJSON(cmd *cobra.Command, body any, o outcome) error {
	if st, ok := cmd.Context().Value(jsonStateKey{}).(*jsonState); ok {
		if st.written {
			return errors.New("internal error: a second JSON object for one command")
		}
		st.written = true
	}
	return writeObject(cmd.OutOrStdout(), body, o)
}

func writeObject(w io.Writer, body any, o outcome) error {
	var fields []string
	var keys []string
	if body != nil {
		raw, err := marshal(body)
		if err != nil {
			return err
		}
		keys, fields, err = objectFields(raw)
		if err != nil {
			return err
		}
	}
	has := map[string]bool{}
	for _, k := range keys {
		has[k] = true
	}
	var head []string
	add := func(k string, v any) {
		if has[k] {
			return
		}
		raw, _ := marshal(v)
		kraw, _ := marshal(k)
		head = append(head, string(kraw)+":"+string(raw))
	}
	add("ok", o.code == 0)
	add("exit_code", o.code)
	add("exit_kind", o.kind)
	if o.err != "" {
		add("error", o.err)
	}
	if len(o.problems) > 0 {
		add("problems", o.problems)
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, []byte("{"+strings.Join(append(head, fields...), ",")+"}"), "", "  "); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	buf.WriteByte('\n')
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	return nil
}

func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("write JSON: %w", err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// objectFields splits a JSON object into its keys and its "key":value
// members, in order.
func objectFields(raw []byte) (keys, fields []string, err error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, nil, fmt.Errorf("write JSON: the body is not an object")
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, nil, fmt.Errorf("write JSON: %w", err)
		}
		k, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, nil, fmt.Errorf("write JSON: %w", err)
		}
		kraw, _ := marshal(k)
		keys = append(keys, k)
		fields = append(fields, string(kraw)+":"+string(v))
	}
	return keys, fields, nil
}

// wantsJSON reports whether the command args name was asked for JSON, even
// when its flags did not parse.
func wantsJSON(root *cobra.Command, args []string) bool {
	c, _, err := root.Find(args)
	if err != nil || c.Flags().Lookup("json") == nil {
		return false
	}
	if f := c.Flags().Lookup("json"); f.Changed {
		return f.Value.String() == "true"
	}
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "--json", "--json=true", "--json=1":
			return true
		}
	}
	return false
}
