//go:build unix

package runner

import (
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// fs.read or fs.write of a FIFO used to block the run forever, past
// max_seconds and signals. It is refused at once, saying why.
func TestFIFOsAreRefusedNotWaitedOn(t *testing.T) {
	p := newProject(t, `
[filesystem]
read_allow = ["src/**"]
write_allow = ["src/**"]
[runtime]
max_seconds = 30
`, map[string]string{"src/a.txt": "a"})
	if err := syscall.Mkfifo(filepath.Join(p.root, "src", "pipe"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, src := range []string{`fs.read("src/pipe")`, `fs.write("src/pipe", "x")`} {
		done := make(chan Result, 1)
		go func() { done <- p.run(src) }()
		select {
		case res := <-done:
			want(t, res, ScriptError, "FIFO", "not a regular file")
		case <-time.After(20 * time.Second):
			t.Fatalf("%s: the run is still blocked after 20 s", src)
		}
	}
}
