package effect

import (
	"context"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// racer swaps two names with renameat2(RENAME_EXCHANGE) as fast as it can
// until stop closes: one is a real directory or file, the other a symlink
// to the secret. At every instant one of the two names is the real thing
// and the other the link.
func racer(t *testing.T, a, b string, stop <-chan struct{}, wg *sync.WaitGroup, swaps *atomic.Int64) {
	t.Helper()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if err := unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE); err != nil {
				t.Errorf("renameat2: %v", err)
				return
			}
			swaps.Add(1)
		}
	}()
}

// A symlink swapped in between the policy's decision and the open (the
// decision saw pub/dir as a directory; the racer makes it a link to the
// secret directory, and back) must never let a read see the secret or a
// write reach it. Both for a directory component and for the last one.
func TestSymlinkSwapRacer(t *testing.T) {
	bothWays(t, func(t *testing.T) {
		for _, shape := range []string{"directory component", "last component"} {
			t.Run(shape, func(t *testing.T) {
				root := tempRoot(t)
				mustWrite(t, root+"/secret/f", "SECRET", 0o644)
				mustWrite(t, root+"/pub/dir/f", "public", 0o644)
				var real, link, vetted string
				if shape == "directory component" {
					real, link, vetted = root+"/pub/dir", root+"/pub/link", root+"/pub/dir/f"
					if err := os.Symlink(root+"/secret", link); err != nil {
						t.Fatal(err)
					}
				} else {
					real, link, vetted = root+"/pub/dir/f", root+"/pub/dir/l", root+"/pub/dir/f"
					if err := os.Symlink(root+"/secret/f", link); err != nil {
						t.Fatal(err)
					}
				}
				stop := make(chan struct{})
				var wg sync.WaitGroup
				var swaps atomic.Int64
				racer(t, real, link, stop, &wg, &swaps)
				ctx := context.Background()
				secretIntact := func() {
					if b, _ := os.ReadFile(root + "/secret/f"); string(b) != "SECRET" {
						close(stop)
						wg.Wait()
						t.Fatalf("the secret was overwritten through a swapped-in symlink: %q", b)
					}
				}
				// Reads first: the swap keeps going the whole time.
				var reads, refused, writes int
				for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); {
					data, err := ReadFile(ctx, vetted, 100, nil)
					if err == nil {
						if string(data) == "SECRET" {
							close(stop)
							wg.Wait()
							t.Fatalf("read the secret through a swapped-in symlink")
						}
						reads++
						continue
					}
					var se *SymlinkError
					if !errors.As(err, &se) && !errors.Is(err, os.ErrNotExist) {
						t.Errorf("unexpected read error: %v", err)
					}
					refused++
				}
				// Then writes. For the last component a write may replace
				// the link itself (rename replaces a name, it never writes
				// through it); the secret must stay as it was.
				for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); {
					if err := WriteFile(ctx, vetted, []byte("overwrite")); err == nil {
						writes++
					}
					secretIntact()
				}
				close(stop)
				wg.Wait()
				entries, _ := os.ReadDir(root + "/secret")
				if len(entries) != 1 {
					t.Fatalf("files were created in the secret directory: %v", entries)
				}
				t.Logf("%d swaps, %d reads, %d refused, %d writes", swaps.Load(), reads, refused, writes)
				if swaps.Load() < 1000 || refused == 0 || reads == 0 {
					t.Fatalf("the race did not happen (%d swaps, %d reads, %d refused)", swaps.Load(), reads, refused)
				}
			})
		}
	})
}

// A read (a file's bytes, a directory's entries) leaves the access time as
// it was: commands can see it (ls -u), and a read under a condition on
// local-only data is allowed when what it reads is public, so a moved time
// would tell the condition (exfil-probes 231 and 232). The times are set a
// year back, which relatime would update on any access.
func TestReadsLeaveAccessTimes(t *testing.T) {
	dir := t.TempDir()
	file := dir + "/f.txt"
	if err := os.WriteFile(file, []byte("public\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-365 * 24 * time.Hour).Truncate(time.Second)
	for _, p := range []string{file, dir} {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	atime := func(p string) time.Time {
		var st unix.Stat_t
		if err := unix.Stat(p, &st); err != nil {
			t.Fatal(err)
		}
		return time.Unix(st.Atim.Unix())
	}
	ctx := context.Background()
	if b, err := ReadFile(ctx, file, 1<<20, nil); err != nil || string(b) != "public\n" {
		t.Fatalf("ReadFile: %q, %v", b, err)
	}
	if names, err := ReadDir(ctx, dir, nil); err != nil || len(names) != 1 {
		t.Fatalf("ReadDir: %v, %v", names, err)
	}
	if _, err := ReadDirEntries(ctx, dir, nil); err != nil {
		t.Fatalf("ReadDirEntries: %v", err)
	}
	for _, p := range []string{file, dir} {
		if got := atime(p); !got.Equal(old) {
			t.Errorf("reading %s moved its access time from %s to %s", p, old, got)
		}
	}
}
