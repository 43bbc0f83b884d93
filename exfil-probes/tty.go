package exfilprobes

import (
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/aegisdev/aegis/internal/lazyre"
)

// ttyQuestion matches the end of a question `aegis run` puts on its controlling terminal (an
// approval of a requires_approval call): "Allow it? [o]nce, [N]o: " and the older "[y/N] ".
var ttyQuestion = lazyre.New(`\[N\]o: |\[y/N\] `)

// terminal is the controlling terminal of one `aegis run`. What the runtime writes to it is the
// "tty" observable: whether a question is asked, and what it says, is something the person at the
// terminal sees. Every question is answered "y" (once), as by an operator who approves every call,
// so the run goes on and shows what an approved call does.
type terminal struct {
	master, slave *os.File
	out           cappedBuffer
	done          chan struct{}
}

// newTerminal gives cmd a fresh pseudo-terminal as its stdin and controlling terminal.
func newTerminal(cmd *exec.Cmd) (*terminal, error) {
	m, s, err := openPTY()
	if err != nil {
		return nil, err
	}
	setControllingTTY(cmd, s)
	return &terminal{master: m, slave: s, done: make(chan struct{})}, nil
}

// started is called once the child runs: the parent's copy of the slave is closed, so that reading
// the master ends when the child has exited, and the answering loop starts.
func (t *terminal) started() {
	t.slave.Close()
	go t.loop()
}

func (t *terminal) loop() {
	defer close(t.done)
	buf := make([]byte, 4096)
	var seen strings.Builder
	answered := 0
	for {
		n, err := t.master.Read(buf)
		if n > 0 {
			t.out.Write(buf[:n])
			if seen.Len() < maxCapture {
				seen.Write(buf[:n])
			}
			for len(ttyQuestion().FindAllStringIndex(seen.String(), -1)) > answered {
				answered++
				if _, werr := t.master.Write([]byte("y\n")); werr != nil {
					return
				}
			}
		}
		if err != nil {
			return // EIO once the last holder of the slave has closed it, or the deadline
		}
	}
}

// transcript returns what the child wrote to the terminal, with the terminal's CRLF turned into LF.
// It waits until the terminal reports that every holder closed it, at most two seconds after the
// child exited (a grandchild could keep it open).
func (t *terminal) transcript() string {
	_ = t.master.SetReadDeadline(time.Now().Add(2 * time.Second))
	<-t.done
	t.master.Close()
	return strings.ReplaceAll(t.out.String(), "\r\n", "\n")
}

// abandon releases a terminal whose child never started.
func (t *terminal) abandon() {
	t.slave.Close()
	t.master.Close()
}
