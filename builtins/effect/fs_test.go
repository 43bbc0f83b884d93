//go:build unix

package effect

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// bothWays runs f with openat2 (where the kernel has it) and with the
// component walk.
func bothWays(t *testing.T, f func(t *testing.T)) {
	t.Run("default", f)
	t.Run("walk", func(t *testing.T) {
		old := noOpenat2.Load()
		noOpenat2.Store(true)
		defer noOpenat2.Store(old)
		f(t)
	})
}

func tempRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func mustWrite(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// within fails the test if f does not return within d: nothing here may hang.
func within(t *testing.T, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s did not return within %s", what, d)
	}
}

func TestFileEffectsBasics(t *testing.T) {
	bothWays(t, func(t *testing.T) {
		ctx := context.Background()
		root := tempRoot(t)
		mustWrite(t, root+"/a/b.txt", "hello", 0o644)
		data, err := ReadFile(ctx, root+"/a/b.txt", 100, nil)
		if err != nil || string(data) != "hello" {
			t.Fatalf("ReadFile: %q %v", data, err)
		}
		if _, err := ReadFile(ctx, root+"/a/b.txt", 4, nil); err == nil || !strings.Contains(err.Error(), "4-byte limit") {
			t.Fatalf("over the limit: %v", err)
		}
		if _, err := ReadFile(ctx, root+"/a/missing", 100, nil); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("missing file: %v", err)
		}
		var nr *NotRegularError
		if _, err := ReadFile(ctx, root+"/a", 100, nil); !errors.As(err, &nr) || !strings.Contains(err.Error(), "use fs.list") {
			t.Fatalf("directory: %v", err)
		}
		// Parents are created; the content lands.
		if err := WriteFile(ctx, root+"/new/deep/c.txt", []byte("made")); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(root + "/new/deep/c.txt"); string(b) != "made" {
			t.Fatalf("written %q", b)
		}
		names, err := ReadDir(ctx, root+"/a", nil)
		if err != nil || len(names) != 1 || names[0] != "b.txt" {
			t.Fatalf("ReadDir: %v %v", names, err)
		}
		for p, want := range map[string]bool{root + "/a/b.txt": true, root + "/a/nope": false, root + "/nope/x": false, root: true, "/": true} {
			if got, err := Exists(ctx, p); err != nil || got != want {
				t.Fatalf("Exists(%s) = %v %v", p, got, err)
			}
		}
		if _, err := Exists(ctx, root+"/a/b.txt/x"); err == nil {
			t.Fatal("Exists through a file: no error")
		}
		if err := Remove(ctx, root+"/a/b.txt"); err != nil {
			t.Fatal(err)
		}
		if err := Remove(ctx, root+"/a"); err != nil {
			t.Fatalf("Remove of an empty directory: %v", err)
		}
		if _, err := os.Lstat(root + "/a"); !errors.Is(err, os.ErrNotExist) {
			t.Fatal("not removed")
		}
	})
}

// fs.write replaces the file atomically: a temporary file in the same
// directory, renamed over it. It keeps the file's mode, leaves nothing
// behind, and never writes through a hard link into another name's file.
func TestWriteFileIsAtomicAndKeepsTheMode(t *testing.T) {
	bothWays(t, func(t *testing.T) {
		ctx := context.Background()
		root := tempRoot(t)
		for _, mode := range []os.FileMode{0o600, 0o640, 0o755} {
			p := root + "/m" + mode.String()
			mustWrite(t, p, "old", mode)
			if err := WriteFile(ctx, p, []byte("new")); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(p)
			if err != nil || fi.Mode().Perm() != mode {
				t.Fatalf("mode after write: %v (want %v) %v", fi.Mode(), mode, err)
			}
		}
		// A new file: 0644 less the umask.
		old := syscall.Umask(0o022)
		defer syscall.Umask(old)
		if err := WriteFile(ctx, root+"/fresh", []byte("x")); err != nil {
			t.Fatal(err)
		}
		if fi, _ := os.Stat(root + "/fresh"); fi.Mode().Perm() != 0o644 {
			t.Fatalf("new file mode %v", fi.Mode())
		}
		// A hard link elsewhere keeps the old content: the name was
		// replaced, the inode was not written.
		mustWrite(t, root+"/other/keep", "original", 0o644)
		if err := os.Link(root+"/other/keep", root+"/linked"); err != nil {
			t.Fatal(err)
		}
		if err := WriteFile(ctx, root+"/linked", []byte("replaced")); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(root + "/other/keep"); string(b) != "original" {
			t.Fatalf("write went through a hard link: %q", b)
		}
		entries, _ := os.ReadDir(root)
		for _, e := range entries {
			if strings.Contains(e.Name(), ".aegis-") {
				t.Fatalf("temporary file left behind: %s", e.Name())
			}
		}
		// Over a directory: refused, nothing left behind.
		if err := os.Mkdir(root+"/adir", 0o755); err != nil {
			t.Fatal(err)
		}
		var nr *NotRegularError
		if err := WriteFile(ctx, root+"/adir", []byte("x")); !errors.As(err, &nr) || nr.Kind != "a directory" {
			t.Fatalf("write over a directory: %v", err)
		}
	})
}

// A FIFO, a device or a socket is refused at once, with an error saying
// what it is: reading or writing a FIFO used to block the run forever.
func TestNonRegularFilesAreRefusedWithoutBlocking(t *testing.T) {
	bothWays(t, func(t *testing.T) {
		ctx := context.Background()
		root := tempRoot(t)
		fifo := root + "/pipe"
		if err := syscall.Mkfifo(fifo, 0o644); err != nil {
			t.Fatal(err)
		}
		var nr *NotRegularError
		within(t, 10*time.Second, "ReadFile of a FIFO", func() {
			_, err := ReadFile(ctx, fifo, 100, nil)
			if !errors.As(err, &nr) || !strings.Contains(err.Error(), "FIFO") || !strings.Contains(err.Error(), "not a regular file") {
				t.Errorf("ReadFile of a FIFO: %v", err)
			}
		})
		within(t, 10*time.Second, "WriteFile of a FIFO", func() {
			err := WriteFile(ctx, fifo, []byte("x"))
			if !errors.As(err, &nr) || !strings.Contains(err.Error(), "FIFO") {
				t.Errorf("WriteFile of a FIFO: %v", err)
			}
		})
		within(t, 10*time.Second, "ReadDir of a FIFO", func() {
			if _, err := ReadDir(ctx, fifo, nil); err == nil {
				t.Errorf("ReadDir of a FIFO: no error")
			}
		})
		if fi, err := os.Lstat(fifo); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
			t.Fatalf("the FIFO was replaced: %v %v", fi, err)
		}
		if _, err := ReadFile(ctx, "/dev/null", 100, nil); !errors.As(err, &nr) || !strings.Contains(err.Error(), "character device") {
			t.Fatalf("ReadFile of /dev/null: %v", err)
		}
		sock := root + "/s"
		fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer syscall.Close(fd)
		if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: sock}); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadFile(ctx, sock, 100, nil); !errors.As(err, &nr) || !strings.Contains(err.Error(), "socket") {
			t.Fatalf("ReadFile of a socket: %v", err)
		}
	})
}

// Symlinks the policy did not see (it resolved the path to one without
// any) are refused in every component, never followed.
func TestSymlinksAreNeverFollowed(t *testing.T) {
	bothWays(t, func(t *testing.T) {
		ctx := context.Background()
		root := tempRoot(t)
		mustWrite(t, root+"/secret/f", "SECRET", 0o644)
		if err := os.MkdirAll(root+"/pub", 0o755); err != nil {
			t.Fatal(err)
		}
		os.Symlink(root+"/secret", root+"/pub/dir")
		os.Symlink(root+"/secret/f", root+"/pub/f")
		var se *SymlinkError
		for _, p := range []string{root + "/pub/dir/f", root + "/pub/f"} {
			if data, err := ReadFile(ctx, p, 100, nil); !errors.As(err, &se) {
				t.Fatalf("ReadFile(%s) = %q, %v", p, data, err)
			}
			if err := WriteFile(ctx, p, []byte("pwned")); !errors.As(err, &se) {
				t.Fatalf("WriteFile(%s): %v", p, err)
			}
		}
		if _, err := ReadDir(ctx, root+"/pub/dir", nil); !errors.As(err, &se) {
			t.Fatalf("ReadDir through a symlink: %v", err)
		}
		if _, err := Exists(ctx, root+"/pub/dir/f"); !errors.As(err, &se) {
			t.Fatalf("Exists through a symlink: %v", err)
		}
		if err := WriteFile(ctx, root+"/pub/dir/new", []byte("pwned")); !errors.As(err, &se) {
			t.Fatalf("WriteFile of a new file under a symlink: %v", err)
		}
		if b, _ := os.ReadFile(root + "/secret/f"); string(b) != "SECRET" {
			t.Fatalf("the secret was overwritten: %q", b)
		}
		if _, err := os.Lstat(root + "/secret/new"); err == nil {
			t.Fatal("a file was created through a symlink")
		}
		// Remove of a symlink removes the link, never its target.
		if err := Remove(ctx, root+"/pub/f"); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(root + "/secret/f"); string(b) != "SECRET" {
			t.Fatal("Remove followed the link")
		}
	})
}

// Every effect can be abandoned: a file system that blocks (a hung network
// mount) does not hold the run past its context.
func TestFileEffectsAreAbandonable(t *testing.T) {
	// The abandoned calls go on once released, after the test: their
	// directory is removed when they are done, not by t.TempDir.
	root, err := os.MkdirTemp("", "abandon")
	if err != nil {
		t.Fatal(err)
	}
	if root, err = filepath.EvalSymlinks(root); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, root+"/f", "x", 0o644)
	release := make(chan struct{})
	testHookOpen = func() { <-release }
	defer func() {
		testHookOpen = nil
		close(release)
		// Each abandoned call finishes within moments of its release.
		time.Sleep(200 * time.Millisecond)
		os.RemoveAll(root)
	}()
	calls := map[string]func(context.Context) error{
		"ReadFile":  func(ctx context.Context) error { _, err := ReadFile(ctx, root+"/f", 100, nil); return err },
		"WriteFile": func(ctx context.Context) error { return WriteFile(ctx, root+"/g", []byte("x")) },
		"Remove":    func(ctx context.Context) error { return Remove(ctx, root+"/f") },
		"ReadDir":   func(ctx context.Context) error { _, err := ReadDir(ctx, root, nil); return err },
		"Exists":    func(ctx context.Context) error { _, err := Exists(ctx, root+"/f"); return err },
	}
	for name, call := range calls {
		ctx, cancel := context.WithCancel(context.Background())
		go func() { time.Sleep(50 * time.Millisecond); cancel() }()
		within(t, 5*time.Second, name+" after cancel", func() {
			var ab *AbandonedError
			if err := call(ctx); !errors.As(err, &ab) || !errors.Is(err, context.Canceled) {
				t.Errorf("%s: %v", name, err)
			}
		})
	}
}
