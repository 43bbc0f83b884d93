package policy

import (
	"os"
	"path/filepath"
	"testing"
)

// benchPolicy is a realistic policy: the secure-defaults preset (45
// filesystem deny patterns, 17 CIDRs, 5 hosts, 48 variables, 114 commands)
// under a Python project's file of about 60 more rules. 293 rules in all;
// a filesystem decision consults the 76 filesystem ones.
const benchPolicy = `
version = "1"
inherits = "secure-defaults"
name = "bench"

[filesystem]
read_allow = ["src/**", "tests/**", "test/**", "pyproject.toml", "setup.py", "setup.cfg", "requirements*.txt", "tox.ini", "pytest.ini", ".python-version", "README*", "MANIFEST.in", "docs/**"]
write_allow = ["src/**", "tests/**", "test/**", "build/**", "dist/**", ".pytest_cache/**", ".mypy_cache/**", ".ruff_cache/**"]
delete_allow = ["build/**", "dist/**"]
deny = ["**/.env.production", "**/.env.staging", "**/production.toml", "**/staging.toml", "**/secrets.toml", "src/generated/**", "*.sqlite3", "**/id_*"]

[network]
http_get_allow = ["pypi.org", "files.pythonhosted.org", "*.github.com", "docs.python.org"]

[environment]
allow_vars = ["PATH", "HOME", "USER", "LANG", "LC_ALL", "TERM", "PYTHONPATH", "VIRTUAL_ENV"]

[subprocess]
allow_commands = ["python3", "pip", "pytest", "ruff", "mypy", "git", "make"]
deny_commands = ["!python3"]

[subprocess.deny_args]
git = ["push --force", "push -f", "reset --hard", "clean -f"]
python3 = ["-c", "-m pip install"]
`

func benchSetup(b *testing.B) (*Policy, string) {
	base, err := filepath.EvalSymlinks(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	root := filepath.Join(base, "project")
	target := filepath.Join(root, "src/pkg/core/model.py")
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(target, nil, 0o644); err != nil {
		b.Fatal(err)
	}
	p, err := LoadBytes("bench.toml", []byte(benchPolicy), root, WithHome(filepath.Join(base, "home")),
		WithResolver(fakeDNS{"pypi.org": {"151.101.0.223"}}))
	if err != nil {
		b.Fatal(err)
	}
	return p, target
}

// BenchmarkDecide measures whole filesystem decisions: target resolution
// (one lstat per path component below the root) plus rule evaluation.
func BenchmarkDecide(b *testing.B) {
	p, target := benchSetup(b)
	b.Run("fs.read-allowed", func(b *testing.B) {
		for b.Loop() {
			if !p.Decide(FSRead, "src/pkg/core/model.py").Allowed {
				b.Fatal("denied")
			}
		}
	})
	b.Run("fs.read-denied-deny-rule", func(b *testing.B) {
		for b.Loop() {
			if p.Decide(FSRead, "src/pkg/.env").Allowed {
				b.Fatal("allowed")
			}
		}
	})
	b.Run("fs.write-new-file", func(b *testing.B) {
		for b.Loop() {
			p.Decide(FSWrite, "build/out/x.whl")
		}
	})
	b.Run("env.read", func(b *testing.B) {
		for b.Loop() {
			p.Decide(EnvRead, "LC_ALL")
		}
	})
	b.Run("net.http_get", func(b *testing.B) {
		for b.Loop() {
			p.Decide(HTTPGet, "https://pypi.org/simple/requests/")
		}
	})
	_ = target
}

// BenchmarkDecideRules measures the rule evaluation of a filesystem
// decision alone, on an already resolved path: the part of Decide that
// grows with the number of rules.
func BenchmarkDecideRules(b *testing.B) {
	p, target := benchSetup(b)
	b.Run("fs.read-allowed", func(b *testing.B) {
		for b.Loop() {
			d := Decision{Capability: FSRead, Target: target}
			if !p.judgePath(d, FSRead, target, target).Allowed {
				b.Fatal("denied")
			}
		}
	})
	denied := filepath.Join(p.Root(), "src/pkg/.env")
	b.Run("fs.read-denied", func(b *testing.B) {
		for b.Loop() {
			d := Decision{Capability: FSRead, Target: denied}
			if p.judgePath(d, FSRead, denied, denied).Allowed {
				b.Fatal("allowed")
			}
		}
	})
}

// BenchmarkBaseline is the yardstick for the two above: cleaning the same
// path, and one lstat of it.
func BenchmarkBaseline(b *testing.B) {
	p, target := benchSetup(b)
	rel := "src/pkg/./core/model.py"
	b.Run("filepath.Clean", func(b *testing.B) {
		for b.Loop() {
			_ = filepath.Clean(p.Root() + "/" + rel)
		}
	})
	b.Run("os.Lstat", func(b *testing.B) {
		for b.Loop() {
			if _, err := os.Lstat(target); err != nil {
				b.Fatal(err)
			}
		}
	})
}
