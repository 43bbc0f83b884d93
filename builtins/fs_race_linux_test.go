package builtins

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/aegisdev/aegis/builtins/effect"
	"github.com/aegisdev/aegis/policy"
)

// The whole builtin, policy decision included, under a symlink-swap race:
// a goroutine exchanges public/dir (a real directory) and public/link (a
// symlink to a denied directory) with renameat2(RENAME_EXCHANGE) while
// fs.read and fs.write act on public/dir/f. Whatever the decision saw, the
// denied file is never read and never overwritten.
func TestFSBuiltinsUnderASymlinkSwapRace(t *testing.T) {
	f := newFixture(t, `
[filesystem]
read_allow = ["public/**"]
write_allow = ["public/**"]
deny = ["private/**"]
`, map[string]string{"public/dir/f": "public", "private/f": "PRIVATE"})
	if err := os.Symlink(filepath.Join(f.root, "private"), filepath.Join(f.root, "public", "link")); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var swaps atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		a, b := filepath.Join(f.root, "public", "dir"), filepath.Join(f.root, "public", "link")
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
	var reads, denied, raced, writes int
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); {
		o := f.run(`print(fs.read("public/dir/f"))`)
		var se *effect.SymlinkError
		var de *policy.DeniedError
		switch {
		case strings.Contains(o.stdout, "PRIVATE"):
			close(stop)
			wg.Wait()
			t.Fatal("fs.read returned the denied file")
		case o.err == nil:
			reads++
		case errors.As(o.err, &se):
			raced++
		case errors.As(o.err, &de):
			denied++
		}
		if o := f.run(`fs.write("public/dir/f", "overwritten")`); o.err == nil {
			writes++
		}
		if b, _ := os.ReadFile(filepath.Join(f.root, "private", "f")); string(b) != "PRIVATE" {
			close(stop)
			wg.Wait()
			t.Fatalf("fs.write overwrote the denied file: %q", b)
		}
	}
	close(stop)
	wg.Wait()
	t.Logf("%d swaps: %d reads, %d denied by the policy, %d refused at the open (the race hit), %d writes", swaps.Load(), reads, denied, raced, writes)
	if raced == 0 || reads == 0 || denied == 0 {
		t.Fatalf("the race was not exercised (%d reads, %d denied, %d raced)", reads, denied, raced)
	}
	if entries, _ := os.ReadDir(filepath.Join(f.root, "private")); len(entries) != 1 {
		t.Fatalf("files were created in the denied directory: %v", entries)
	}
}
