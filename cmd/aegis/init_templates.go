package main

import (
	"fmt"
	"strings"
)

// Starter policies for `aegis init`, one per ecosystem. Each is rendered
// into a commented aegis.toml that inherits secure-defaults and adds the
// toolchain's files, variables and commands, with the publish, destructive
// and history-rewriting operations denied. Every template is loaded by the
// tests, in a fresh project, to prove it passes the strict loader and the
// guards.

type starter struct {
	lang     string // canonical --lang value
	title    string // "Python"
	aliases  []string
	markers  []string // files whose presence at the root means this language (glob)
	read     []string
	write    []string
	caches   []string // toolchain caches under ~, writable so that builds work in the sandbox
	del      []string
	deny     []string
	env      []string
	commands []string
	undeny   []string // preset deny_commands entries the toolchain needs back
	approve  []string // suggested [subprocess].approve_prefixes (commented out)
	denyArgs []argsRule
	notes    []string // extra comment lines, shown before [filesystem]
}

type argsRule struct {
	cmd      string
	patterns []string
	why      string
}

// gitRules are the history-rewriting and remote-destroying git operations,
// and the ways to make git run another program: configuration (-c,
// --config-env, config, clone --config: aliases "!cmd", core.sshCommand,
// core.pager, core.hooksPath...), a repository whose configuration the
// script wrote (-C, --git-dir, --work-tree), and the options and
// subcommands that take a command. Aegis reads git's aliases
// (policy/argsyntax.go): "push --force" also denies -f, +refspec,
// --force-with-lease and --mirror; "branch --delete --force" also -D and
// -d -f; "rebase --exec" also -x. internal/gitspell lists the spellings the
// tests hold every template to.
var gitRules = argsRule{cmd: "git", why: "force pushes, remote deletions, history rewrites, and ways to make git run other programs (git's short and long spellings are read alike)", patterns: []string{
	"push --force", "push --delete", "push --mirror", "push --prune", "send-pack", "http-push",
	"reset --hard", "clean --force", "checkout --force", "switch --force", "branch --force", "branch --delete --force",
	"tag --force", "rebase --interactive", "filter-branch", "filter-repo", "replace", "update-ref",
	"reflog expire", "reflog delete", "gc --prune",
	"-c", "--config-env", "--exec-path", "config", "clone --config", "--template", "-C", "--git-dir", "--work-tree",
	"rebase --exec", "submodule foreach", "bisect run", "difftool", "mergetool", "--upload-pack", "--receive-pack",
	"fetch-pack", "archive --exec", "grep --open-files-in-pager", "remote-ext", "remote-fd", "web--browse", "instaweb",
	"help --web", "send-email",
}}

var commonEnv = []string{"PATH", "HOME", "USER", "LANG", "LC_ALL", "TERM", "TMPDIR"}

var starters = []starter{
	{
		lang: "python", title: "Python", aliases: []string{"py", "python3"},
		markers: []string{"pyproject.toml", "setup.py", "setup.cfg", "requirements.txt", "Pipfile"},
		read: []string{"src/**", "tests/**", "test/**", "docs/**", "*.py", "pyproject.toml", "setup.py", "setup.cfg",
			"requirements*.txt", "constraints*.txt", "tox.ini", "pytest.ini", "noxfile.py", ".python-version", "README*", "MANIFEST.in"},
		write:  []string{"src/**", "tests/**", "test/**", "build/**", "dist/**", "__pycache__/", ".pytest_cache/**", ".mypy_cache/**", ".ruff_cache/**"},
		caches: []string{"~/.cache/pip/**"},
		del:    []string{"build/**", "dist/**", "__pycache__/"},
		deny:   []string{"**/.env.production", "**/.env.staging", "**/production.*", "**/staging.*", "**/local_settings.py", "instance/**"},
		env:    []string{"VIRTUAL_ENV", "PYTHONPATH"},
		commands: []string{"python", "python3", "pip", "pip3", "uv", "poetry", "hatch", "pytest", "tox", "nox",
			"mypy", "pyright", "ruff", "black", "isort", "flake8", "git", "make"},
		approve: []string{"pytest", "python3 -m pytest"},
		undeny:  []string{"python", "python3"},
		denyArgs: []argsRule{
			{cmd: "python", patterns: []string{"-c", "-m http.server"}, why: "inline code, and serving the project over HTTP"},
			{cmd: "python3", patterns: []string{"-c", "-m http.server"}, why: "the same for python3"},
			{cmd: "pip", patterns: []string{"install --target", "install --prefix", "install --user"}, why: "installs outside the project"},
			{cmd: "uv", patterns: []string{"publish"}, why: "publishing"},
			{cmd: "poetry", patterns: []string{"publish"}, why: "publishing"},
			{cmd: "hatch", patterns: []string{"publish"}, why: "publishing"},
		},
	},
	{
		lang: "node", title: "Node.js / TypeScript", aliases: []string{"nodejs", "javascript", "js", "typescript", "ts"},
		markers: []string{"package.json"},
		read: []string{"src/**", "lib/**", "test/**", "tests/**", "__tests__/**", "package.json", "package-lock.json", "pnpm-lock.yaml",
			"yarn.lock", "tsconfig*.json", ".eslintrc*", "eslint.config.*", ".prettierrc*", "vitest.config.*", "jest.config.*",
			"vite.config.*", "biome.json", "README*"},
		write:    []string{"src/**", "lib/**", "test/**", "tests/**", "__tests__/**", "dist/**", "build/**", ".next/**", "coverage/**"},
		caches:   []string{"~/.npm/_cacache/**"},
		del:      []string{"dist/**", "build/**", "coverage/**"},
		deny:     []string{"**/.env.production", "**/.env.staging", "**/production.*", "**/staging.*", "**/.npmrc"},
		env:      []string{"NODE_ENV"},
		commands: []string{"node", "npm", "pnpm", "yarn", "tsc", "tsx", "ts-node", "jest", "vitest", "mocha", "eslint", "prettier", "biome", "git", "make"},
		approve:  []string{"npm test", "npm run build", "tsc"},
		undeny:   []string{"node"},
		denyArgs: []argsRule{
			{cmd: "node", patterns: []string{"-e", "-p", "--eval", "--print", "--import", "--require", "-r"}, why: "inline code and preloaded modules"},
			{cmd: "npm", patterns: []string{"publish", "unpublish", "deprecate", "owner", "token", "adduser", "login", "exec"}, why: "publishing, account changes, and running downloaded packages"},
			{cmd: "pnpm", patterns: []string{"publish", "dlx", "exec"}, why: "publishing, and running downloaded packages"},
			{cmd: "yarn", patterns: []string{"publish", "npm publish", "dlx"}, why: "publishing, and running downloaded packages"},
		},
		notes: []string{"npx is left out on purpose: it downloads and runs any package. Add it deliberately."},
	},
	{
		lang: "ruby", title: "Ruby / Rails", aliases: []string{"rb", "rails"},
		markers: []string{"Gemfile"},
		read: []string{"app/**", "config/**", "lib/**", "spec/**", "test/**", "db/**", "Gemfile", "Gemfile.lock", "Rakefile",
			".rubocop.yml", ".ruby-version", "config.ru", "*.gemspec", "README*"},
		write: []string{"app/**", "lib/**", "spec/**", "test/**", "tmp/**", "log/**"},
		del:   []string{"tmp/**", "log/**"},
		deny: []string{"./config/master.key", "./config/credentials/**", "./config/credentials.yml.enc", "./config/secrets.yml",
			"./config/database.yml", "./config/environments/production.rb", "./config/environments/staging.rb",
			"**/.env.production", "**/.env.staging"},
		env:      []string{"GEM_HOME", "GEM_PATH", "BUNDLE_PATH", "BUNDLE_GEMFILE", "RAILS_ENV", "RACK_ENV"},
		commands: []string{"ruby", "bundle", "bundler", "rake", "rails", "rspec", "rubocop", "standardrb", "git", "make"},
		approve:  []string{"bundle exec rspec", "rake test"},
		undeny:   []string{"ruby"},
		denyArgs: []argsRule{
			{cmd: "ruby", patterns: []string{"-e", "-r"}, why: "inline code and preloaded libraries"},
			{cmd: "rails", patterns: []string{"db:drop", "db:reset", "db:purge", "destroy", "dbconsole", "credentials:show", "credentials:edit"}, why: "destroying data and reading credentials"},
			{cmd: "rake", patterns: []string{"db:drop", "db:reset", "db:purge"}, why: "destroying data"},
			{cmd: "bundle", patterns: []string{"config set --global"}, why: "changing Bundler for every project"},
		},
	},
	{
		lang: "rust", title: "Rust", aliases: []string{"rs", "cargo"},
		markers: []string{"Cargo.toml"},
		read: []string{"src/**", "tests/**", "benches/**", "examples/**", "crates/**", "*.rs", "Cargo.toml", "Cargo.lock",
			"rust-toolchain*", "rustfmt.toml", ".rustfmt.toml", "clippy.toml", "build.rs", ".cargo/config.toml", "README*"},
		write:    []string{"src/**", "tests/**", "benches/**", "examples/**", "crates/**", "target/**"},
		caches:   []string{"~/.cargo/registry/**", "~/.cargo/git/**"},
		del:      []string{"target/**"},
		deny:     []string{"**/.env.production", "**/production.toml", "**/staging.toml"},
		env:      []string{"CARGO_HOME", "RUSTUP_HOME", "RUST_BACKTRACE", "RUST_LOG", "CARGO_TARGET_DIR"},
		commands: []string{"cargo", "rustc", "rustfmt", "cargo-clippy", "clippy-driver", "rust-analyzer", "git", "make"},
		approve:  []string{"cargo test", "cargo build", "cargo check"},
		denyArgs: []argsRule{
			{cmd: "cargo", patterns: []string{"publish", "yank", "owner", "login", "logout", "install"}, why: "publishing, registry accounts, and installing crates outside the project"},
		},
		notes: []string{"cargo build runs build.rs and proc macros: code the agent can write. Keep the sandbox on."},
	},
	{
		lang: "go", title: "Go", aliases: []string{"golang"},
		markers: []string{"go.mod", "go.work"},
		read: []string{"*.go", "go.mod", "go.sum", "go.work", "go.work.sum", "**/testdata/**", "**/...", ".golangci.yml",
			".golangci.yaml", "Makefile", "README*", "docs/**"},
		write:    []string{"*.go", "go.mod", "go.sum", "**/testdata/**"},
		caches:   []string{"~/.cache/go-build/**", "~/go/pkg/mod/**"},
		deny:     []string{"**/.env.production", "**/production.yaml", "**/production.yml", "**/staging.yaml", "**/staging.yml"},
		env:      []string{"GOPATH", "GOROOT", "GOCACHE", "GOMODCACHE", "GOFLAGS", "GOOS", "GOARCH", "CGO_ENABLED", "GOPROXY"},
		commands: []string{"go", "gofmt", "goimports", "golangci-lint", "staticcheck", "dlv", "git", "make"},
		approve:  []string{"go test", "go build", "go vet"},
		denyArgs: []argsRule{
			{cmd: "go", patterns: []string{"generate", "-exec", "-toolexec", "env -w"}, why: "directives and flags that run arbitrary programs, and persistent settings"},
		},
		notes: []string{`"**/..." lets commands name packages the Go way ("go test ./..."): it matches no real file.`},
	},
	{
		lang: "java", title: "Java / Kotlin (Maven, Gradle)", aliases: []string{"kotlin", "scala", "jvm", "maven", "gradle"},
		markers: []string{"pom.xml", "build.gradle", "build.gradle.kts", "settings.gradle", "settings.gradle.kts"},
		read: []string{"src/**", "pom.xml", "build.gradle", "build.gradle.kts", "settings.gradle", "settings.gradle.kts",
			"gradle.properties", "gradle/**", "gradlew", "mvnw", ".mvn/**", "README*"},
		write:  []string{"src/**", "target/**", "build/**", ".gradle/**"},
		caches: []string{"~/.m2/repository/**", "~/.gradle/caches/**", "~/.gradle/wrapper/**"},
		del:    []string{"target/**", "build/**"},
		deny: []string{"~/.m2/settings.xml", "~/.m2/settings-security.xml", "~/.gradle/gradle.properties",
			"**/application-prod.*", "**/application-production.*", "**/.env.production"},
		env:      []string{"JAVA_HOME", "MAVEN_OPTS", "GRADLE_OPTS", "GRADLE_USER_HOME", "M2_HOME"},
		commands: []string{"java", "javac", "mvn", "gradle", "./gradlew", "./mvnw", "git", "make"},
		approve:  []string{"mvn test", "./gradlew test"},
		denyArgs: []argsRule{
			{cmd: "mvn", patterns: []string{"deploy", "release:prepare", "release:perform", "site:deploy"}, why: "publishing artifacts"},
			{cmd: "./mvnw", patterns: []string{"deploy", "release:prepare", "release:perform", "site:deploy"}, why: "the same through the wrapper"},
			{cmd: "gradle", patterns: []string{"publish", "publishPlugins", "uploadArchives"}, why: "publishing artifacts"},
			{cmd: "./gradlew", patterns: []string{"publish", "publishPlugins", "uploadArchives"}, why: "the same through the wrapper"},
		},
	},
	{
		lang: "dotnet", title: ".NET (C#, F#, VB)", aliases: []string{"csharp", "cs", "fsharp", "fs", "vb", "net"},
		markers: []string{"*.sln", "*.slnx", "*.csproj", "*.fsproj", "*.vbproj", "global.json"},
		read: []string{"src/**", "tests/**", "test/**", "*.cs", "*.fs", "*.vb", "*.csproj", "*.fsproj", "*.vbproj", "*.sln", "*.slnx",
			"*.props", "*.targets", "global.json", "appsettings.json", "appsettings.Development.json", "README*"},
		write:  []string{"src/**", "tests/**", "test/**", "*.cs", "*.fs", "*.vb", "bin/", "obj/"},
		caches: []string{"~/.nuget/packages/**"},
		del:    []string{"bin/", "obj/"},
		deny: []string{"NuGet.Config", "nuget.config", "NuGet.config", "appsettings.Production.json", "appsettings.Staging.json",
			"~/.microsoft/usersecrets/**", "~/.nuget/NuGet/NuGet.Config"},
		env:      []string{"DOTNET_ROOT", "DOTNET_CLI_TELEMETRY_OPTOUT", "NUGET_PACKAGES", "ASPNETCORE_ENVIRONMENT"},
		commands: []string{"dotnet", "git", "make"},
		approve:  []string{"dotnet test", "dotnet build"},
		denyArgs: []argsRule{
			{cmd: "dotnet", patterns: []string{"nuget push", "nuget delete", "user-secrets", "ef database update", "ef database drop",
				"workload install", "tool install"}, why: "publishing packages, reading user secrets, changing databases, installing tools"},
		},
	},
}

// starterFor finds a template by language name or alias.
func starterFor(lang string) (*starter, bool) {
	l := strings.ToLower(lang)
	for i := range starters {
		s := &starters[i]
		if s.lang == l {
			return s, true
		}
		for _, a := range s.aliases {
			if a == l {
				return s, true
			}
		}
	}
	return nil, false
}

func languageNames() []string {
	out := make([]string, len(starters))
	for i, s := range starters {
		out[i] = s.lang
	}
	return out
}

// render writes the starter as a commented policy file.
func (s *starter) render(name string) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("# Aegis policy for a %s project, written by `aegis init --lang %s`.\n", s.title, s.lang)
	w(`#
# Everything not allowed below is denied, and a deny entry beats every allow.
# Relative patterns are anchored at this file's directory: "src/**" is src and
# everything in it, "*" stays inside one directory, a bare name such as "*.py"
# matches at any depth. The full reference is docs/policy-file.md.
#
#   aegis policy validate aegis.toml      check this file
#   aegis policy show aegis.toml          the effective policy, preset included
#   aegis policy explain --policy aegis.toml fs.read src/app.py
#
version = "1"

# secure-defaults denies credentials (~/.ssh, ~/.aws, .env, *.pem, ...), /proc,
# /sys and /dev, cloud metadata and private addresses, secret variables, and
# shells, interpreters, network tools and deploy tools. To take one entry back,
# write it with a "!" in the same list below, e.g. deny_commands = ["!curl"].
inherits = "secure-defaults"
`)
	w("name = %q\n\n", name)
	w(`# The preset asks the operator before every fs.delete and subprocess.exec.
# To approve the commands you run all day, uncomment approve_prefixes under
# [subprocess] below. To run every command without a prompt, uncomment:
# requires_approval = ["!subprocess.exec"]
`)
	for _, n := range s.notes {
		w("\n# %s\n", n)
	}
	w("\n[filesystem]\n")
	list(&b, "read_allow", s.read)
	if len(s.caches) > 0 {
		w("# The ~/ entries are the toolchain's caches: commands run in a sandbox that\n# shows only the paths this file names, and the build needs them.\n")
	}
	list(&b, "write_allow", append(append([]string{}, s.write...), s.caches...))
	if len(s.del) > 0 {
		list(&b, "delete_allow", s.del)
	}
	w("# Readable, but the content is local-only: it may not leave the machine.\n# local_only_read = [\"fixtures/private/**\"]\n")
	list(&b, "deny", s.deny)
	w(`
[network]
# Hosts scripts may fetch from, one list per verb (any port, http or https).
# Addresses are checked after DNS, so a name pointing at a private or
# metadata address is still refused.
http_get_allow = []
# http_post_allow = ["api.example.com"]
`)
	w("\n[environment]\n")
	list(&b, "allow_vars", append(append([]string{}, commonEnv...), s.env...))
	w("# Readable, but the value may not leave the machine.\n# local_only_vars = [\"MY_API_KEY\"]\n")
	w("\n[subprocess]\n")
	w(`# Commands run with a cleared environment (allow_vars only), in this directory,
# inside a sandbox: no capability, the system's programs and the paths this file
# names (local-only files absent unless the command's output is local-only), and
# no network. "auto" uses bubblewrap, else Landlock; where neither works, runs say
# so with a warning and commands see the whole machine.
sandbox = "auto"
# To let commands (never local-only ones) use the host's network, unfiltered:
# [network] lists and deny_ips govern fetch calls only, not a command's sockets.
# network = "host"
`)
	list(&b, "allow_commands", s.commands)
	if len(s.undeny) > 0 {
		w("# secure-defaults denies interpreters; the toolchain needs these back.\n")
		list(&b, "deny_commands", bangs(s.undeny))
	}
	w("# Commands approved without asking: each entry is a program and the words its\n" +
		"# arguments must start with; anything may follow (so deny_args still matters).\n# ")
	list(&b, "approve_prefixes", s.approve)
	w(`
[subprocess.deny_args]
# A pattern matches when each of its words appears in the command line, in any
# order. "--force" also catches --force=x and --forc; "-fd" catches -f -d and -xdf.
`)
	for _, r := range append([]argsRule{gitRules}, s.denyArgs...) {
		w("# %s: %s\n", r.cmd, r.why)
		key := r.cmd
		if strings.ContainsAny(key, "./") {
			key = fmt.Sprintf("%q", key)
		}
		list(&b, key, r.patterns)
	}
	w(`
[runtime]
max_seconds = 300
`)
	w(`
# A tool an MCP host may offer, and the capabilities it needs:
# [tools.WebSearch]
# capabilities = ["net.http_get"]
# backend_url = "https://api.duckduckgo.com/"
# description = "Search the web"
`)
	return b.String()
}

func bangs(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = "!" + x
	}
	return out
}

// list renders key = [...], one entry per line when it would be long.
func list(b *strings.Builder, key string, xs []string) {
	q := make([]string, len(xs))
	total := len(key) + 4
	for i, x := range xs {
		q[i] = fmt.Sprintf("%q", x)
		total += len(q[i]) + 2
	}
	if total <= 88 {
		fmt.Fprintf(b, "%s = [%s]\n", key, strings.Join(q, ", "))
		return
	}
	fmt.Fprintf(b, "%s = [\n", key)
	line := "  "
	for _, x := range q {
		if len(line)+len(x)+2 > 88 && line != "  " {
			b.WriteString(strings.TrimRight(line, " ") + "\n")
			line = "  "
		}
		line += x + ", "
	}
	b.WriteString(strings.TrimRight(line, " ") + "\n]\n")
}
