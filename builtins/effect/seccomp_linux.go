package effect

import (
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A seccomp filter closes what the jail's file and network rules leave
// open, in both mechanisms (bwrap loads it with --seccomp, the Landlock
// helper before it execs the command); seccompRules say what it refuses
// (JailSpec.bwrapSeccomp, JailSpec.landlockSeccomp):
//
//   - without the network, no Unix socket (socket(AF_UNIX, …)) and no
//     io_uring (which could open one past the filter): a socket file in a
//     tree the command sees, made by a concurrent command or a service
//     Landlock does not hide, would take its data past the jail. Pairs
//     (socketpair) still work. Without a network namespace, no socket;
//   - no change to a file's mode, owner, times or extended attributes
//     where the mounts do not refuse it: a public file's mtime is public
//     (fs.stat), and the policy file, the audit log and the system's files
//     must keep theirs.
//
// Any other architecture than the build's own is refused, as are x32
// system calls.

// seccompFilter returns the filter that enforces r.
func seccompFilter(r seccompRules) ([]unix.SockFilter, error) {
	if seccompArch == 0 {
		return nil, errors.New("no seccomp filter for this architecture: the jail cannot keep a command from Unix sockets or attribute changes")
	}
	const (
		deny  = -1
		allow = -2
	)
	type ins struct {
		f      unix.SockFilter
		jt, jf int // label (deny, allow) or 0: fall through
	}
	ld := func(off uint32) ins {
		return ins{f: unix.SockFilter{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: off}}
	}
	jeq := func(k uint32, jt, jf int) ins {
		return ins{f: unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: k}, jt: jt, jf: jf}
	}
	// struct seccomp_data: nr at 0, arch at 4, args[0] (low half on a
	// little-endian machine) at 16.
	prog := []ins{ld(4), jeq(seccompArch, 0, deny), ld(0)}
	if seccompX32 {
		prog = append(prog, ins{f: unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K, K: 0x40000000}, jt: deny})
	}
	if r.NoSetattr {
		for _, nr := range setattrSyscalls {
			prog = append(prog, jeq(uint32(nr), deny, 0))
		}
	}
	if r.NoUnixSockets || r.NoSockets {
		prog = append(prog, jeq(unix.SYS_IO_URING_SETUP, deny, 0))
		if r.NoSockets {
			prog = append(prog, jeq(unix.SYS_SOCKET, deny, allow))
		} else {
			prog = append(prog, jeq(unix.SYS_SOCKET, 0, allow), ld(16), jeq(unix.AF_UNIX, deny, allow))
		}
	}
	prog = append(prog, ins{f: unix.SockFilter{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW}})
	allowAt := len(prog) - 1
	prog = append(prog, ins{f: unix.SockFilter{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)}})
	denyAt := len(prog) - 1
	out := make([]unix.SockFilter, len(prog))
	for i, in := range prog {
		f := in.f
		for _, j := range []struct {
			label int
			to    *uint8
		}{{in.jt, &f.Jt}, {in.jf, &f.Jf}} {
			target := -1
			switch j.label {
			case deny:
				target = denyAt
			case allow:
				target = allowAt
			}
			if target >= 0 {
				off := target - i - 1
				if off < 0 || off > 255 {
					return nil, fmt.Errorf("seccomp filter: jump of %d", off)
				}
				*j.to = uint8(off)
			}
		}
		out[i] = f
	}
	return out, nil
}

// installSeccomp applies spec's filter to the calling thread, which must
// then exec (no_new_privs must be set).
func installSeccomp(r seccompRules) error {
	if !r.any() {
		return nil
	}
	filter, err := seccompFilter(r)
	if err != nil {
		return err
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	return unix.Prctl(unix.PR_SET_SECCOMP, unix.SECCOMP_MODE_FILTER, uintptr(unsafe.Pointer(&prog)), 0, 0)
}

// seccompFile returns spec's bwrap filter as bwrap's --seccomp reads it
// (the compiled program, read to its end), or nil when spec needs none.
func seccompFile(s JailSpec) (*os.File, error) {
	rules := s.bwrapSeccomp()
	if !rules.any() {
		return nil, nil
	}
	filter, err := seccompFilter(rules)
	if err != nil {
		return nil, err
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(&filter[0])), len(filter)*int(unsafe.Sizeof(filter[0])))
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("seccomp filter for bwrap: %w", err)
	}
	defer w.Close()
	if _, err := w.Write(b); err != nil { // a few hundred bytes: the pipe holds them
		r.Close()
		return nil, fmt.Errorf("seccomp filter for bwrap: %w", err)
	}
	return r, nil
}
