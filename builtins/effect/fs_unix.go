//go:build unix

package effect

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// FSUnsupported is nil: Unix systems have the *at system calls the file
// effects need (fs_other.go says why elsewhere).
var FSUnsupported error

// NoFollow is O_NOFOLLOW, for the files Aegis opens itself outside the
// file effects (the transcript).
const NoFollow = unix.O_NOFOLLOW

// splitPath splits an absolute, clean path into its directory and last
// component ("" for "/").
func splitPath(p string) (dir, base string) {
	if p == "/" {
		return "/", ""
	}
	return path.Dir(p), path.Base(p)
}

// openDir returns a file descriptor of the directory at the absolute, clean
// path dir, having followed no symlink on the way. With create, missing
// components are made (mode 0755, less the umask).
func openDir(dir string, create bool) (int, error) {
	if fd, err, ok := openat2Dir(dir); ok {
		if err == nil || !create || !errors.Is(err, unix.ENOENT) {
			return fd, err
		}
	}
	return walkDir(dir, create)
}

// walkDir is openDir one component at a time: each is opened relative to
// its parent's descriptor with O_NOFOLLOW, so no path string is ever
// resolved twice.
func walkDir(dir string, create bool) (int, error) {
	fd, err := unix.Open("/", dirFlags, 0)
	if err != nil {
		return -1, &fs.PathError{Op: "open", Path: "/", Err: err}
	}
	cur := ""
	for _, c := range strings.Split(dir, "/") {
		if c == "" {
			continue
		}
		cur += "/" + c
		nfd, err := openComponent(fd, c, cur)
		if errors.Is(err, unix.ENOENT) && create {
			if merr := unix.Mkdirat(fd, c, 0o755); merr != nil && !errors.Is(merr, unix.EEXIST) {
				unix.Close(fd)
				return -1, &fs.PathError{Op: "mkdir", Path: cur, Err: merr}
			}
			nfd, err = openComponent(fd, c, cur)
		}
		if err != nil {
			unix.Close(fd)
			return -1, err
		}
		unix.Close(fd)
		fd = nfd
	}
	return fd, nil
}

// componentErr explains the failure to open name in the directory dfd
// with O_NOFOLLOW: ELOOP means the name was a symlink then (a
// *SymlinkError); for other errors a symlink there now is reported the same
// way (the message is the best that can be said), anything else is a
// *fs.PathError.
func componentErr(op string, dfd int, name, full string, err error) error {
	if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.EMLINK) {
		return &SymlinkError{Path: full}
	}
	if errors.Is(err, unix.ENOTDIR) {
		var st unix.Stat_t
		if unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
			return &SymlinkError{Path: full}
		}
	}
	return &fs.PathError{Op: op, Path: full, Err: err}
}

// modeOf converts a stat mode to an fs.FileMode's type bits.
func modeOf(m uint32) fs.FileMode {
	switch m & uint32(unix.S_IFMT) {
	case unix.S_IFDIR:
		return fs.ModeDir
	case unix.S_IFIFO:
		return fs.ModeNamedPipe
	case unix.S_IFSOCK:
		return fs.ModeSocket
	case unix.S_IFCHR:
		return fs.ModeDevice | fs.ModeCharDevice
	case unix.S_IFBLK:
		return fs.ModeDevice
	case unix.S_IFLNK:
		return fs.ModeSymlink
	}
	return 0
}

// readChunk is how much readFile reads between two looks at its context.
const readChunk = 1 << 20

// testHookOpen, when set (tests only), runs before every file effect's
// first system call: a test makes it block to stand for a hung file system.
var testHookOpen func()

// openReading opens name in dfd to read it (a file's bytes, a directory's
// entries) without moving its access time. Commands the policy allows can
// see access times (ls -u, stat), and a read is allowed under a condition on
// local-only data when what it reads is public (its result is labelled, the
// file is unchanged): a moved access time would tell, to any later public
// command, which way the condition went. O_NOATIME is refused (EPERM) on a
// file this process neither owns nor may act for (CAP_FOWNER): that read
// moves the time as before, a residual channel docs/ifc-model.md names.
func openReading(dfd int, name string, flags int) (int, error) {
	fd, err := unix.Openat(dfd, name, flags|noAtime, 0)
	if noAtime != 0 && errors.Is(err, unix.EPERM) {
		fd, err = unix.Openat(dfd, name, flags, 0)
	}
	return fd, err
}

func readFile(ctx context.Context, p string, limit int64, charge func(int64) error) ([]byte, error) {
	if testHookOpen != nil {
		testHookOpen()
	}
	dir, base := splitPath(p)
	if base == "" {
		return nil, &NotRegularError{Path: p, Kind: "a directory", Op: "read"}
	}
	dfd, err := openDir(dir, false)
	if err != nil {
		return nil, err
	}
	defer unix.Close(dfd)
	// Non-blocking, so that opening a FIFO returns at once (and fstat then
	// refuses it); no controlling terminal from a tty.
	fd, err := openReading(dfd, base, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC)
	if err != nil {
		var st unix.Stat_t
		if errors.Is(err, unix.ENXIO) && unix.Fstatat(dfd, base, &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
			// A socket (or a device without its driver): no open at all.
			return nil, &NotRegularError{Path: p, Kind: fileKind(modeOf(uint32(st.Mode))), Op: "read"}
		}
		return nil, componentErr("open", dfd, base, p, err)
	}
	f := os.NewFile(uintptr(fd), p)
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, &NotRegularError{Path: p, Kind: fileKind(fi.Mode()), Op: "read"}
	}
	size := min(fi.Size(), limit)
	if charge != nil {
		if err := charge(size); err != nil {
			return nil, err
		}
	}
	charged := size
	buf := make([]byte, 0, size+1)
	for {
		if ctx.Err() != nil {
			return nil, errClosed
		}
		if len(buf) == cap(buf) {
			if int64(len(buf)) > limit {
				break
			}
			// The file grew since fstat: charge what more is read.
			more := min(int64(readChunk), limit+1-int64(len(buf)))
			if charge != nil {
				if err := charge(more); err != nil {
					return nil, err
				}
			}
			charged += more
			buf = append(buf, make([]byte, more)...)[:len(buf)]
		}
		end := min(cap(buf), len(buf)+readChunk)
		n, err := f.Read(buf[len(buf):end])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) || (n == 0 && err == nil) {
			break
		}
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: p, Err: err}
		}
	}
	if int64(len(buf)) > limit {
		return nil, &fs.PathError{Op: "read", Path: p, Err: &TooLargeError{What: "file", Limit: limit}}
	}
	return buf, nil
}

func writeFile(p string, data []byte) error {
	if testHookOpen != nil {
		testHookOpen()
	}
	dir, base := splitPath(p)
	if base == "" {
		return &NotRegularError{Path: p, Kind: "a directory", Op: "write"}
	}
	dfd, err := openDir(dir, true)
	if err != nil {
		return err
	}
	defer unix.Close(dfd)
	var st unix.Stat_t
	existing := false
	switch err := unix.Fstatat(dfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); {
	case err == nil:
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			existing = true
		case unix.S_IFLNK:
			return &SymlinkError{Path: p}
		default:
			return &NotRegularError{Path: p, Kind: fileKind(modeOf(uint32(st.Mode))), Op: "write"}
		}
	case !errors.Is(err, unix.ENOENT):
		return &fs.PathError{Op: "stat", Path: p, Err: err}
	}
	// A new file gets 0644 less the umask, as os.WriteFile would; the
	// temporary copy of an existing file is private until it has the
	// file's own mode.
	perm := uint32(0o644)
	if existing {
		perm = 0o600
	}
	tmp := tempName(base)
	tfd, err := unix.Openat(dfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, perm)
	if err != nil {
		return &fs.PathError{Op: "create", Path: path.Join(dir, tmp), Err: err}
	}
	f := os.NewFile(uintptr(tfd), path.Join(dir, tmp))
	werr := func() error {
		if _, err := f.Write(data); err != nil {
			return &fs.PathError{Op: "write", Path: p, Err: errnoOf(err)}
		}
		if existing {
			if err := unix.Fchmod(tfd, uint32(st.Mode&0o777)); err != nil {
				return &fs.PathError{Op: "chmod", Path: p, Err: err}
			}
		}
		return nil
	}()
	if cerr := f.Close(); werr == nil && cerr != nil {
		werr = &fs.PathError{Op: "close", Path: p, Err: errnoOf(cerr)}
	}
	if werr == nil {
		if err := unix.Renameat(dfd, tmp, dfd, base); err != nil {
			werr = &fs.PathError{Op: "rename", Path: p, Err: err}
		}
	}
	if werr != nil {
		unix.Unlinkat(dfd, tmp, 0)
	}
	return werr
}

// tempName is a fresh name next to base for the temporary copy fs.write
// renames over it (within NAME_MAX).
func tempName(base string) string {
	var b [8]byte
	rand.Read(b[:])
	if len(base) > 200 {
		base = base[:200]
	}
	return "." + base + ".aegis-" + hex.EncodeToString(b[:])
}

func remove(p string) error {
	if testHookOpen != nil {
		testHookOpen()
	}
	dir, base := splitPath(p)
	if base == "" {
		return &fs.PathError{Op: "remove", Path: p, Err: unix.EBUSY}
	}
	dfd, err := openDir(dir, false)
	if err != nil {
		return err
	}
	defer unix.Close(dfd)
	var st unix.Stat_t
	if err := unix.Fstatat(dfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &fs.PathError{Op: "remove", Path: p, Err: err}
	}
	flags := 0
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		flags = unix.AT_REMOVEDIR
	}
	if err := unix.Unlinkat(dfd, base, flags); err != nil {
		return &fs.PathError{Op: "remove", Path: p, Err: err}
	}
	return nil
}

func readDir(p string, charge func(int64) error) ([]string, error) {
	entries, err := readDirEntries(p, charge)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name
	}
	return names, nil
}

func readDirEntries(p string, charge func(int64) error) ([]Entry, error) {
	if testHookOpen != nil {
		testHookOpen()
	}
	var fd int
	if dir, base := splitPath(p); base == "" {
		var err error
		if fd, err = openReading(unix.AT_FDCWD, "/", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC); err != nil {
			return nil, &fs.PathError{Op: "open", Path: p, Err: err}
		}
	} else {
		dfd, err := openDir(dir, false)
		if err != nil {
			return nil, err
		}
		fd, err = openReading(dfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC)
		if err != nil {
			err = componentErr("open", dfd, base, p, err)
			unix.Close(dfd)
			return nil, err
		}
		unix.Close(dfd)
	}
	f := os.NewFile(uintptr(fd), p)
	defer f.Close()
	var entries []Entry
	for {
		batch, err := f.ReadDir(1024)
		if charge != nil && len(batch) > 0 {
			n := int64(0)
			for _, b := range batch {
				n += int64(len(b.Name())) + 16 // the name, and its slot in the list
			}
			if cerr := charge(n); cerr != nil {
				return nil, cerr
			}
		}
		for _, b := range batch {
			// The type comes from the directory entry (d_type, or an
			// lstat where the file system gives none): never followed.
			entries = append(entries, Entry{Name: b.Name(), Kind: KindOf(b.Type())})
		}
		if errors.Is(err, io.EOF) || (err == nil && len(batch) == 0) {
			return entries, nil
		}
		if err != nil {
			return nil, &fs.PathError{Op: "readdir", Path: p, Err: errnoOf(err)}
		}
	}
}

// errnoOf returns the system error inside an *os.File method's error.
func errnoOf(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func stat(p string) (Info, bool, error) {
	if testHookOpen != nil {
		testHookOpen()
	}
	dir, base := splitPath(p)
	var st unix.Stat_t
	if base == "" {
		if err := unix.Stat("/", &st); err != nil {
			return Info{}, false, &fs.PathError{Op: "stat", Path: p, Err: err}
		}
		return infoOf(&st), true, nil
	}
	dfd, err := openDir(dir, false)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return Info{}, false, nil
		}
		return Info{}, false, err
	}
	defer unix.Close(dfd)
	switch err := unix.Fstatat(dfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); {
	case err == nil:
		return infoOf(&st), true, nil
	case errors.Is(err, unix.ENOENT):
		return Info{}, false, nil
	default:
		return Info{}, false, &fs.PathError{Op: "stat", Path: p, Err: err}
	}
}

func infoOf(st *unix.Stat_t) Info {
	m := modeOf(uint32(st.Mode))
	return Info{Kind: KindOf(m), Size: st.Size, Perm: fs.FileMode(st.Mode).Perm(), ModTime: time.Unix(int64(st.Mtim.Sec), int64(st.Mtim.Nsec))}
}
