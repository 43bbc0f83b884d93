package policy

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDiscover(t *testing.T) {
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	mk := func(p string) string {
		p = filepath.Join(base, p)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	put := func(p string) string {
		p = filepath.Join(base, p)
		if err := os.WriteFile(p, []byte("inherits = \"secure-defaults\"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	home := mk("home")
	mk("home/repo")
	deep := mk("home/repo/a/b")
	mk("home/repo/.git")
	outside := put("home/aegis.toml") // above the repository: never reached from inside it

	d, err := Discover(deep, home)
	if err != nil || d.Path != "" || d.StoppedAt != "the repository root" || len(d.Searched) != 3 {
		t.Fatalf("in a repository without a policy: %+v, %v", d, err)
	}
	if want := "no aegis.toml in " + deep + " or its parents up to the repository root"; d.From != deep || d.Missing() != want {
		t.Errorf("From %q, Missing %q; want %q", d.From, d.Missing(), want)
	}
	inRepo := put("home/repo/aegis.toml")
	if d, err := Discover(deep, home); err != nil || d.Path != inRepo {
		t.Fatalf("from a subdirectory: %+v, %v", d, err)
	}
	nearer := put("home/repo/a/aegis.toml")
	if d, err := Discover(deep, home); err != nil || d.Path != nearer {
		t.Fatalf("the nearest wins: %+v, %v", d, err)
	}
	// Outside a repository the search stops at home, after looking there.
	plain := mk("home/notes/x")
	if d, err := Discover(plain, home); err != nil || d.Path != outside {
		t.Fatalf("up to home: %+v, %v", d, err)
	}
	os.Remove(outside)
	if d, err := Discover(plain, home); err != nil || d.Path != "" || d.StoppedAt != "the home directory" {
		t.Fatalf("stops at home: %+v, %v", d, err)
	}
	// Not under home: up to the filesystem root (where nothing is planted).
	free := mk("elsewhere/x")
	if d, err := Discover(free, home); err != nil || d.StoppedAt != "the filesystem root" && d.Path == "" {
		t.Fatalf("outside home: %+v, %v", d, err)
	}
	// A directory named aegis.toml is not a policy.
	mk("home/repo/a/b/aegis.toml")
	if d, _ := Discover(deep, home); d.Path != nearer {
		t.Fatalf("a directory was taken for the policy: %+v", d)
	}
}

// A policy others may write is refused: in a shared directory anyone could
// plant one above your scratch directory.
func TestDiscoverRefusesAPolicyOthersCanWrite(t *testing.T) {
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(base, "scratch")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(base, FileName)
	if err := os.WriteFile(p, []byte(""), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, 0o666); err != nil {
		t.Fatal(err)
	}
	_, err = Discover(dir, "")
	var ue *UnsafePolicyError
	if !errors.As(err, &ue) || ue.Path != p || !strings.Contains(err.Error(), "writable by everyone") || !strings.Contains(err.Error(), "--policy") {
		t.Fatalf("want an unsafe-policy error for %s, got %v", p, err)
	}
	if os.Geteuid() == 0 {
		// Root can give the file away and check the owner test too.
		if err := os.Chmod(p, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(p, 4242, 4242); err != nil {
			t.Fatal(err)
		}
		_, err = Discover(dir, "")
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), "belongs to uid 4242") {
			t.Fatalf("want an ownership error, got %v", err)
		}
	}
}
