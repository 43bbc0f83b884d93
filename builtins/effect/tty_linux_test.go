package effect

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// ttyChildEnv makes this test binary the child of TestCommandsGetNoTerminal.
const ttyChildEnv = "AEGIS_TEST_TTY_CHILD"

// tiocstiProbe opens the controlling terminal and pushes a line into its
// input queue (TIOCSTI): the shell the user returns to would run it.
const tiocstiProbe = `
import fcntl, os, sys, termios
try:
    fd = os.open("/dev/tty", os.O_RDWR)
except OSError as e:
    print("no terminal:", e); sys.exit(0)
for c in sys.argv[1].encode() + b"\n":
    fcntl.ioctl(fd, termios.TIOCSTI, bytes([c]))
print("INJECTED")
`

// TestCommandsGetNoTerminal runs Aegis's Exec in a process whose
// controlling terminal is a pseudo-terminal this test holds, as when a user
// runs aegis in a shell. No command, jailed or not, may reach that terminal:
// a line pushed into its input queue with TIOCSTI runs in the user's shell
// after aegis exits, outside any jail.
func TestCommandsGetNoTerminal(t *testing.T) {
	if os.Getenv(ttyChildEnv) != "" {
		ttyChild(t)
		return
	}
	mechanisms(t) // a missing mechanism fails here, not silently in the child
	mfd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("open /dev/ptmx: %v", err)
	}
	master := os.NewFile(uintptr(mfd), "/dev/ptmx")
	defer master.Close()
	if err := unix.IoctlSetPointerInt(mfd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(mfd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	sfd, err := unix.Open("/dev/pts/"+strconv.FormatUint(uint64(n), 10), unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	slave := os.NewFile(uintptr(sfd), "pts")
	defer slave.Close()
	// Raw: whatever lands in the input queue is readable at once.
	tio, err := unix.IoctlGetTermios(sfd, unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	tio.Lflag &^= unix.ICANON | unix.ECHO
	if err := unix.IoctlSetTermios(sfd, unix.TCSETS, tio); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestCommandsGetNoTerminal$", "-test.count=1")
	cmd.Env = append(os.Environ(), ttyChildEnv+"=1")
	cmd.Stdin = slave
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Run(); err != nil {
		t.Fatalf("child: %v\n%s", err, out.String())
	}
	// The child proves it had the terminal: it writes to /dev/tty itself.
	if !strings.Contains(out.String(), "CHILD-HAS-TTY") {
		t.Fatalf("the child had no controlling terminal:\n%s", out.String())
	}
	slave.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	var queued bytes.Buffer
	buf := make([]byte, 4096)
	for {
		k, err := slave.Read(buf)
		queued.Write(buf[:k])
		if err != nil {
			break
		}
	}
	if strings.Contains(queued.String(), "PWNED") {
		t.Errorf("a command pushed input into the user's terminal: %q\n%s", queued.String(), out.String())
	}
}

// ttyChild runs the probe unjailed and in each jail, with this process's
// controlling terminal.
func ttyChild(t *testing.T) {
	if f, err := os.OpenFile("/dev/tty", os.O_RDWR, 0); err == nil {
		fmt.Println("CHILD-HAS-TTY")
		f.Close()
	}
	f := newJailFixture(t)
	for name, sb := range everyWay(t) {
		res, err := Exec(context.Background(), f.jailed(sb, Command{
			Argv:    []string{"/usr/bin/python3", "-c", tiocstiProbe, "echo PWNED-" + name},
			Env:     []string{"PATH=/usr/bin:/bin"},
			Dir:     f.root,
			Timeout: 30 * time.Second,
		}))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		fmt.Printf("%s: %s", name, res.Stdout)
	}
}
