package starlark_test

// Host fakes for the noninterference property (ifc_noninterference_test.go): in-memory
// stand-ins for Aegis's host builtins, label-aware like them, whose effects land in the run's
// public transcript, next to what print wrote. They mirror the rules of builtins/call.go and
// runner/budget.go (the rules, not the code: this package cannot import Aegis's builtins):
//
//   - Every call made under a public pc is counted (the calls field of a result, a request a
//     server sees): "@name #n" in the transcript. After the first local-only read such calls
//     are the progress a secret-dependent abort reveals (niHost.progress). Calls under a
//     labelled pc are not counted.
//   - emit(*values, tag="") is a sink to a public target: it refuses a labelled pc, labelled
//     values (reference or deep), a labelled tag and a labelled call shape (*args/**kwargs),
//     with a flow error labelled exactly (pc and shape only, as call.flow does); otherwise the
//     values are written to the transcript.
//   - stash(*values, key="") writes to a local-only target: it accepts labelled data under any
//     pc, and only its count (under a public pc) is public.
//   - log(msg, level="info") is a redacting sink like print, written with the host API: it
//     refuses a labelled pc, and shows msg, or [REDACTED] when ArgLabel(0) or its deep label is
//     labelled, and the level, or [REDACTED] when ArgLabel(1) or KwargLabel("level") is
//     labelled. It reads both whether or not a level was given: for an absent argument they
//     are the call's shape label, so a level left out by a labelled **kwargs is redacted like
//     one given by it. (The generator found this fake reading only KwargLabel, while
//     log(*["", secret]) passed the level positionally.)
//   - approve(what) asks a person: under a labelled pc it is refused before anyone is asked
//     (call.confirm); otherwise the prompt, showing what or [REDACTED] if what is labelled, is
//     written to the transcript, and the answer depends only on what the person saw (a prompt
//     containing "xyz" is denied, with an error labelled by what).
//   - get_secret(), get_token() and friends are sources of two principals (SECRET, TOKEN): the
//     first read of a principal under a labelled pc is refused (budget.Admit), a first read
//     under a public pc writes "@read P" to the transcript.
//
// Argument errors (wrong type, arity, unknown keyword) are returned as plain errors: the
// interpreter must label them with every input (J), the call's shape included.
//
// niHostBug selects a deliberate bug in the fakes, for the self-checks that prove the
// generator reaches each rule.

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aegisdev/aegis/labels"
	"github.com/aegisdev/aegis/starlark-ifc/starlark"
)

type niHostBug int

const (
	niBugNone                 niHostBug = iota
	niBugApproveUnderPC                 // approve asks under a labelled pc
	niBugFirstReadUnderPC               // a first read under a labelled pc is admitted
	niBugCountUnderPC                   // calls under a labelled pc are counted as public
	niBugApproveShowsLabelled           // the prompt shows a labelled target
)

// niHost is the state of the fakes for one run.
type niHost struct {
	out      strings.Builder // the public transcript: printed lines and host events, in order
	held     map[string]bool // principals read
	read     bool            // a local-only source has been read (predeclared secrets: from the start)
	calls    int             // public calls
	progress int             // public calls since the first local-only read
	bug      niHostBug

	// what the run exercised (coverage)
	shapeCalls int // host calls under a public pc whose shape was labelled
	emitted    int // successful emits
	prompts    int // approval prompts shown
	refusedPC  int // calls refused because of a labelled pc
}

func newNiHost(bug niHostBug) *niHost { return &niHost{held: map[string]bool{}, bug: bug} }

// begin counts a call (see the file comment).
func (h *niHost) begin(thread *starlark.Thread, name string) {
	if thread.PC() != labels.Public && h.bug != niBugCountUnderPC {
		return
	}
	h.calls++
	if h.read {
		h.progress++
	}
	if thread.ShapeLabel() != labels.Public {
		h.shapeCalls++
	}
	fmt.Fprintf(&h.out, "@%s #%d\n", name, h.calls)
}

// niInputs is the join of the labels of every input of the call in progress: the pc, the shape,
// and each argument's reference and deep label.
func niInputs(thread *starlark.Thread, args starlark.Tuple, kwargs []starlark.Tuple) labels.Label {
	in := thread.PC() | thread.ShapeLabel()
	for i, a := range args {
		in |= thread.ArgLabel(i) | starlark.DeepLabel(a)
	}
	for _, kv := range kwargs {
		k, _ := kv[0].(starlark.String)
		in |= thread.KwargLabel(string(k)) | starlark.DeepLabel(kv[1])
	}
	return in
}

// niKeywords checks that every keyword of the call is in allowed; the error quotes the name.
func niKeywords(fn string, kwargs []starlark.Tuple, allowed ...string) error {
	for _, kv := range kwargs {
		k, _ := kv[0].(starlark.String)
		if !slices.Contains(allowed, string(k)) {
			return fmt.Errorf("%s: unexpected keyword argument %s", fn, kv[0])
		}
	}
	return nil
}

func (h *niHost) emit(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := niKeywords("emit", kwargs, "tag"); err != nil {
		return nil, err
	}
	tag := ""
	for _, kv := range kwargs {
		s, ok := kv[1].(starlark.String)
		if !ok {
			return nil, fmt.Errorf("emit: tag must be a string, not %s", kv[1].Type())
		}
		tag = string(s)
	}
	if len(args) == 0 {
		return nil, errors.New("emit: nothing to emit (give at least one value)")
	}
	h.begin(thread, "emit")
	in := niInputs(thread, args, kwargs)
	if in != labels.Public {
		if thread.PC() != labels.Public {
			h.refusedPC++
		}
		return nil, starlark.ExactLabelError(&starlark.FlowError{Sink: "emit", Reason: "labelled data or a labelled pc would reach a public target"}, labels.Public)
	}
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = a.String()
	}
	fmt.Fprintf(&h.out, "@emit %s: %s\n", tag, strings.Join(parts, " "))
	h.emitted++
	return starlark.MakeInt(h.calls), nil
}

func (h *niHost) stash(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := niKeywords("stash", kwargs, "key"); err != nil {
		return nil, err
	}
	if len(args) == 0 {
		return nil, errors.New("stash: nothing to stash (give at least one value)")
	}
	h.begin(thread, "stash")
	return starlark.None, nil
}

func (h *niHost) log(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var msg starlark.Value
	level := starlark.String("info")
	if err := starlark.UnpackArgs("log", args, kwargs, "msg", &msg, "level?", &level); err != nil {
		return nil, err
	}
	if thread.PC() != labels.Public {
		h.refusedPC++
		return nil, starlark.ExactLabelError(&starlark.FlowError{Sink: "log", Reason: "the line would reveal the outcome of a condition on labelled data"}, labels.Public)
	}
	h.begin(thread, "log")
	shownMsg, shownLevel := msg.String(), string(level)
	if thread.ArgLabel(0)|thread.KwargLabel("msg")|starlark.DeepLabel(msg) != labels.Public {
		shownMsg = niRedaction
	}
	// level may come positionally or by name: both labels (each is the shape label when absent)
	if thread.ArgLabel(1)|thread.KwargLabel("level")|starlark.DeepLabel(level) != labels.Public {
		shownLevel = niRedaction
	}
	fmt.Fprintf(&h.out, "@log %s: %s\n", shownLevel, shownMsg)
	return starlark.None, nil
}

func (h *niHost) approve(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var what starlark.String
	if err := starlark.UnpackArgs("approve", args, kwargs, "what", &what); err != nil {
		return nil, err
	}
	if thread.PC() != labels.Public && h.bug != niBugApproveUnderPC {
		h.refusedPC++
		return nil, starlark.ExactLabelError(&starlark.FlowError{Sink: "approve",
			Reason: "it needs approval, and a prompt would reveal the outcome of a condition on labelled data"}, labels.Public)
	}
	h.begin(thread, "approve")
	target := thread.ArgLabel(0) | thread.KwargLabel("what") | starlark.DeepLabel(what)
	shown := string(what)
	if target != labels.Public && h.bug != niBugApproveShowsLabelled {
		shown = niRedaction
	}
	fmt.Fprintf(&h.out, "@prompt %q\n", shown)
	h.prompts++
	if strings.Contains(shown, "xyz") {
		return nil, starlark.ExactLabelError(fmt.Errorf("approve: %q was denied by the user", shown), target)
	}
	return starlark.None, nil
}

// source is a source builtin of principal p, whose data is labelled l (Public in unlabelled runs);
// v returns the value and the label of the reference to it.
func (h *niHost) source(name, p string, l labels.Label, v func() (starlark.Value, labels.Label)) *starlark.Builtin {
	return starlark.NewLabelAwareBuiltin(name, func(thread *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		if err := starlark.UnpackArgs(name, args, kwargs); err != nil {
			return nil, err
		}
		if l != labels.Public && !h.held[p] {
			if thread.PC() != labels.Public && h.bug != niBugFirstReadUnderPC {
				h.refusedPC++
				return nil, starlark.ExactLabelError(&starlark.FlowError{Sink: name,
					Reason: "a local-only source this run has not read yet may not be read in code that runs only depending on local-only data"}, labels.Public)
			}
			h.held[p] = true
			h.read = true
			fmt.Fprintf(&h.out, "@read %s\n", p)
		}
		h.begin(thread, name)
		x, rl := v()
		thread.SetResultLabel(rl)
		return x, nil
	})
}

// niHostBuiltins adds the effect fakes to pre.
func (h *niHost) builtins(pre starlark.StringDict) {
	pre["emit"] = starlark.NewLabelAwareBuiltin("emit", h.emit)
	pre["stash"] = starlark.NewLabelAwareBuiltin("stash", h.stash)
	pre["approve"] = starlark.NewLabelAwareBuiltin("approve", h.approve)
	pre["log"] = starlark.NewLabelAwareBuiltin("log", h.log)
}

// The rules the host fakes mirror are only under test if the generator reaches them: with
// each rule broken on purpose, the property must find a counterexample, within a bound a
// healthy generator meets with a wide margin (the programs it took are logged).
func TestNoninterferenceSelfCheckHostRules(t *testing.T) {
	for _, c := range []struct {
		bug  niHostBug
		what string
	}{
		{niBugApproveUnderPC, "approval asked under a labelled pc"},
		{niBugFirstReadUnderPC, "first read of a source admitted under a labelled pc"},
		{niBugCountUnderPC, "calls under a labelled pc counted as public progress"},
		{niBugApproveShowsLabelled, "approval prompt showing a labelled target"},
	} {
		t.Run(c.what, func(t *testing.T) {
			const within = 400
			prog, n, err := niFindCounterexample(niProgramGenBug(false, c.bug), within, true)
			if err == nil {
				t.Fatalf("the property found no counterexample in %d programs", within)
			}
			if strings.Contains(err.Error(), "generator bug") || strings.Contains(err.Error(), "does not compile") {
				t.Fatal(err)
			}
			t.Logf("found at program %d:\n%s%v", n, niNumbered(prog.Src), err)
		})
	}
}
