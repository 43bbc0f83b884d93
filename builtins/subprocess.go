package builtins

import (
	"fmt"
	"time"

	"github.com/aegisdev/aegis/builtins/effect"
	"github.com/aegisdev/aegis/internal/quote"
	"github.com/aegisdev/aegis/labels"
	"github.com/aegisdev/aegis/policy"
	"github.com/aegisdev/aegis/starlark-ifc/starlark"
)

// DefaultCommandTimeout bounds one command when nothing tighter applies.
const DefaultCommandTimeout = 2 * time.Minute

// subprocessExec: subprocess.exec(argv) -> stdout. It fails on a non-zero
// exit with stderr in the message. The output of a local_only_commands
// command is labelled, and so is the output of any command whose argv names
// a local-only path (cat secrets/token must not launder the file).
func (h *Host) subprocessExec(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var argvV starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "argv", &argvV); err != nil {
		return nil, err
	}
	al := argLabel(thread, args, 0, "argv") | starlark.DeepLabel(argvV)
	argv, err := stringList(argvV)
	if err != nil {
		return nil, starlark.LabelError(fmt.Errorf("%s: argv %w", b.Name(), err), al)
	}
	if len(argv) == 0 {
		return nil, fmt.Errorf("%s: argv is empty: its first element must name a command", b.Name())
	}
	c, err := h.begin(thread, policy.SubprocessExec, quote.Argv(argv), al, labels.Public)
	if err != nil {
		return nil, err
	}
	if err := c.decide(argv...); err != nil {
		return nil, err
	}
	if err := c.flow(flowParts(thread.PC(), part{al, "argv"}), argv...); err != nil {
		return nil, err
	}
	// The policy names the command's principal and those of the local-only
	// paths its argv names; the environment adds local_only_vars.
	localOnly := c.decision.IsLocalOnlyCommand()
	env, envPrincipals := h.Policy.ChildEnv(h.Environ, localOnly)
	src := h.sourceLabel(c.decision, labels.Cmd(argv[0])) | h.principals(envPrincipals)
	if err := c.admit(src); err != nil {
		return nil, err
	}
	if err := c.confirm(); err != nil {
		return nil, err
	}
	outLabel := src | al
	c.in |= src
	thread.SetResultLabel(outLabel)
	if err := c.allow(); err != nil {
		return nil, err
	}
	cmd := effect.Command{
		Argv:      argv,
		Path:      c.decision.ResolvedPath, // the file the policy vetted, not a second PATH lookup
		Dir:       h.Policy.Root(),
		Timeout:   h.CommandTimeout,
		MaxOutput: orDefault(h.MaxCommandOutput, DefaultMaxCommandOutput),
	}
	if cmd.Timeout <= 0 {
		cmd.Timeout = DefaultCommandTimeout
	}
	cmd.Env = env
	if h.Jail != nil {
		if err := h.Jail(&cmd, outLabel != labels.Public); err != nil {
			return nil, c.failed(err, outLabel, "could not set up the sandbox")
		}
	}
	res, err := effect.Exec(h.Ctx, cmd)
	if err != nil {
		return nil, c.failed(err, outLabel, failureReason(err, "could not run"))
	}
	if err := h.chargeAlloc(thread, int64(len(res.Stdout)), outLabel); err != nil {
		return nil, c.failed(err, outLabel, "[runtime].max_memory_mb")
	}
	return starlark.String(res.Stdout), nil
}

// stringList converts a list or tuple of strings.
func stringList(v starlark.Value) ([]string, error) {
	iterable, ok := v.(starlark.Indexable)
	if !ok {
		return nil, fmt.Errorf("must be a list of strings, not %s", v.Type())
	}
	switch v.(type) {
	case *starlark.List, starlark.Tuple:
	default:
		return nil, fmt.Errorf("must be a list of strings, not %s", v.Type())
	}
	out := make([]string, iterable.Len())
	for i := range out {
		s, ok := starlark.AsString(iterable.Index(i))
		if !ok {
			return nil, fmt.Errorf("element %d is %s, not a string", i, iterable.Index(i).Type())
		}
		out[i] = s
	}
	return out, nil
}
