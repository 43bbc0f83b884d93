package builtins

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aegisdev/aegis/approval"
)

// The approval protocol of call.confirm: what the hook is shown, what
// approve_prefixes answers, and what a refusal tells the script.

const approvePolicy = `requires_approval = ["subprocess.exec", "fs.delete"]
[filesystem]
delete_allow = ["out/**"]
[subprocess]
allow_commands = ["echo"]
local_only_commands = ["printf"]
approve_prefixes = ["echo hello", "printf"]
`

func TestApprovePrefixesAnswerWithoutAsking(t *testing.T) {
	f := newFixture(t, approvePolicy, nil)
	asked := 0
	f.confirm = func(context.Context, string, string) (bool, error) {
		asked++
		return false, &approval.Refusal{Reason: "nobody here", Unasked: true}
	}
	o := f.run(`print(subprocess.exec(["echo", "hello", "world"]).strip())`)
	mustSucceed(t, o)
	if asked != 0 || o.stdout != "hello world\n" {
		t.Fatalf("asked %d times, stdout %q", asked, o.stdout)
	}
	// Not covered: asked, and refused with the keys that would approve it.
	cerr := mustFail[*ConfirmDeniedError](t, f.run(`subprocess.exec(["echo", "bye"])`))
	if asked != 1 {
		t.Fatalf("asked %d times", asked)
	}
	msg := cerr.Error()
	for _, want := range []string{"nobody here", `add "echo bye" to [subprocess].approve_prefixes`, `"!subprocess.exec"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q: %s", want, msg)
		}
	}
	// A prefix is whole words: "hello" does not cover "hellooo".
	mustFail[*ConfirmDeniedError](t, f.run(`subprocess.exec(["echo", "hellooo"])`))
}

// A labelled argv must not decide between asking and not asking: the
// prefix is ignored and the hook sees the target hidden.
func TestApprovePrefixIgnoresALabelledArgv(t *testing.T) {
	f := newFixture(t, approvePolicy, nil)
	var seen []approval.Request
	f.confirm = func(ctx context.Context, c, target string) (bool, error) {
		seen = append(seen, approval.FromContext(ctx, c, target))
		return false, &approval.Refusal{Reason: "nobody here", Unasked: true}
	}
	cerr := mustFail[*ConfirmDeniedError](t, f.run(`subprocess.exec(["printf", secret])`))
	if len(seen) != 1 || !seen[0].Labelled || seen[0].Target != approval.Redacted || seen[0].Resolved != "" {
		t.Fatalf("the hook saw %+v", seen)
	}
	if strings.Contains(cerr.Error(), "approve_prefixes") {
		t.Errorf("a prefix suggested for a hidden argv: %s", cerr)
	}
}

func TestTheHookSeesTheResolvedTarget(t *testing.T) {
	f := newFixture(t, approvePolicy, map[string]string{"out/a\x1b[2Jb.txt": "x"})
	var seen approval.Request
	f.confirm = func(ctx context.Context, c, target string) (bool, error) {
		seen = approval.FromContext(ctx, c, target)
		return false, &approval.Refusal{Reason: "declined at the terminal prompt"}
	}
	cerr := mustFail[*ConfirmDeniedError](t, f.run(`fs.delete("out/a\x1b[2Jb.txt")`))
	if seen.Capability != "fs.delete" || seen.Target != "out/a\x1b[2Jb.txt" || seen.Resolved != f.root+"/out/a\x1b[2Jb.txt" {
		t.Fatalf("the hook saw %+v", seen)
	}
	msg := cerr.Error()
	if strings.ContainsRune(msg, 0x1b) || !strings.Contains(msg, `a\x1b[2Jb.txt`) {
		t.Errorf("the error must show the escape, not send it: %q", msg)
	}
	// The user's own no is not followed by advice on how not to ask.
	if !strings.HasSuffix(msg, "declined at the terminal prompt") {
		t.Errorf("message: %s", msg)
	}
}

func TestRefusalMessages(t *testing.T) {
	f := newFixture(t, approvePolicy, nil)
	script := `fs.delete("out/x")`
	for _, c := range []struct {
		name      string
		hook      func(context.Context, string, string) (bool, error)
		want, not []string
	}{
		{"no hook", nil, []string{"nothing here can ask", `"!fs.delete"`}, []string{"user"}},
		{"nobody could be asked", func(context.Context, string, string) (bool, error) {
			return false, &approval.Refusal{Reason: "no terminal", Allow: "pass --yes", Unasked: true}
		}, []string{"no terminal; pass --yes; to approve it without asking", `"!fs.delete"`}, []string{"declined"}},
		{"a plain no", func(context.Context, string, string) (bool, error) { return false, nil },
			[]string{"was not approved: it was refused"}, []string{"without asking"}},
		{"a broken hook", func(context.Context, string, string) (bool, error) { return true, errors.New("tty gone") },
			[]string{"could not be obtained: tty gone"}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			f.confirm = c.hook
			msg := mustFail[*ConfirmDeniedError](t, f.run(script)).Error()
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("lacks %q: %s", w, msg)
				}
			}
			for _, w := range c.not {
				if strings.Contains(msg, w) {
					t.Errorf("has %q: %s", w, msg)
				}
			}
		})
	}
}
