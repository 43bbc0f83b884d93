package policy

import "sort"

// The secure-defaults preset. Every entry below is there because some
// script, tool or attack has used it to reach a secret or to run arbitrary
// code; an operator who needs one of them back writes "!entry" in the same
// list of their file (see merge.go). The preset grants nothing: it only
// denies and asks for approval.

const secureDefaults = "secure-defaults"

// NoPreset is the inherits value of a file that is the whole policy on
// purpose. A file without inherits is the whole policy too, but tools warn
// about it: it is more often an oversight that leaves credentials unguarded.
const NoPreset = "none"

// Presets returns the names of the built-in presets.
func Presets() []string { return []string{secureDefaults} }

var secureFSDeny = [...]string{
	// Credentials in the home directory.
	"~/.ssh/**", "~/.aws/**", "~/.azure/**", "~/.gnupg/**", "~/.kube/**",
	"~/.config/gh/**", "~/.config/gcloud/**", "~/.config/aegis/**",
	"~/.docker/config.json", "~/.netrc", "~/.git-credentials", "~/.npmrc", "~/.pypirc",
	"~/.gem/credentials", "~/.cargo/credentials", "~/.cargo/credentials.toml",
	"~/.terraform.d/credentials.tfrc.json", "~/.password-store/**", "~/.local/share/keyrings/**",
	// Secret files wherever they are: bare names and "**/" patterns in deny
	// match at any depth anywhere on the filesystem, not only under the root.
	".env", ".env.*", "**/secrets/**", "**/secrets.*", "**/credentials/**", "**/credentials.*",
	"id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "*.pem", "*.key", "*.p12", "*.pfx",
	// Aegis's own state: the audit log lives in .aegis/.
	"**/.aegis/**",
	// System secrets, and kernel views that expose every process's
	// environment and memory (/proc/self/environ holds every env var).
	"/etc/shadow", "/etc/gshadow", "/etc/passwd", "/etc/sudoers", "/etc/sudoers.d/**", "/etc/ssh/**",
	"/proc/**", "/sys/**", "/dev/**",
	"/var/run/docker.sock", "/run/docker.sock",
}

var secureDenyIPs = [...]string{
	"0.0.0.0/8",      // "this network": 0.0.0.0 reaches localhost on Linux
	"10.0.0.0/8",     // RFC 1918
	"100.64.0.0/10",  // CGNAT, also Alibaba Cloud metadata (100.100.100.200)
	"127.0.0.0/8",    // loopback
	"169.254.0.0/16", // link-local, cloud metadata (169.254.169.254)
	"172.16.0.0/12",  // RFC 1918
	"192.0.0.0/24",   // IETF protocol assignments (incl. some metadata services)
	"192.168.0.0/16", // RFC 1918
	"198.18.0.0/15",  // benchmarking
	"224.0.0.0/4",    // multicast
	"240.0.0.0/4",    // reserved, broadcast
	"::/128",         // unspecified
	"::1/128",        // loopback
	"fc00::/7",       // unique local
	"fe80::/10",      // link-local
	"fec0::/10",      // deprecated site-local
	"ff00::/8",       // multicast
}

var secureDenyHosts = [...]string{
	"metadata", "metadata.google.internal", "metadata.goog",
	"instance-data", "instance-data.ec2.internal",
}

var secureDenyVars = [...]string{
	"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
	"GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_API_KEY", "AZURE_CLIENT_SECRET",
	"OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "MISTRAL_API_KEY", "COHERE_API_KEY",
	"AZURE_OPENAI_API_KEY", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN",
	"GITHUB_TOKEN", "GH_TOKEN", "GITLAB_TOKEN", "CI_JOB_TOKEN",
	"ACTIONS_RUNTIME_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
	"NPM_TOKEN", "NODE_AUTH_TOKEN", "PYPI_TOKEN", "TWINE_PASSWORD", "CARGO_REGISTRY_TOKEN",
	"GEM_HOST_API_KEY", "NUGET_API_KEY",
	"STRIPE_SECRET_KEY", "SENDGRID_API_KEY", "TWILIO_AUTH_TOKEN", "SLACK_TOKEN",
	"DOCKER_AUTH_CONFIG", "DOCKER_PASSWORD", "VAULT_TOKEN",
	"DIGITALOCEAN_TOKEN", "CLOUDFLARE_API_TOKEN", "HEROKU_API_KEY", "VERCEL_TOKEN", "NETLIFY_AUTH_TOKEN",
	"SENTRY_AUTH_TOKEN",
	"DATABASE_URL", "DATABASE_PASSWORD", "PGPASSWORD", "MYSQL_PWD", "REDIS_PASSWORD",
	// An agent socket in a child's environment lets the child sign as the user.
	"SSH_AUTH_SOCK", "GPG_AGENT_INFO",
}

var secureDenyCommands = [...]string{
	// Shells: any of them runs anything.
	"sh", "bash", "zsh", "dash", "fish", "csh", "tcsh", "ksh", "mksh", "ash", "busybox", "toybox", "pwsh", "powershell",
	// Interpreters, including the ones hiding in text tools.
	"python", "python2", "python3", "pypy", "pypy3", "ruby", "irb", "perl", "php", "node", "nodejs", "deno", "bun",
	"lua", "luajit", "tclsh", "wish", "expect", "awk", "gawk", "mawk", "nawk",
	// Programs that run another program given as an argument.
	"env", "xargs", "watch", "timeout", "nohup", "setsid", "nice", "ionice", "taskset", "chrt", "time", "stdbuf",
	"flock", "script", "parallel", "at", "batch", "crontab", "systemd-run", "tmux", "screen",
	"strace", "ltrace", "gdb", "unshare", "nsenter", "chroot", "setpriv", "runuser",
	// Privilege.
	"sudo", "doas", "su", "pkexec",
	// Destructive.
	"rm", "dd", "mkfs", "shred", "wipefs",
	// Network clients and remote shells.
	"curl", "wget", "nc", "ncat", "netcat", "socat", "telnet", "ftp", "tftp", "aria2c",
	"ssh", "scp", "sftp", "rsync",
	// Database clients.
	"psql", "mysql", "mariadb", "redis-cli", "mongosh", "mongo", "sqlite3",
	// Deployment and cloud control planes, and containers (a container is root).
	"kubectl", "helm", "aws", "gcloud", "gsutil", "az", "flyctl", "fly", "heroku", "terraform", "tofu", "pulumi",
	"doctl", "vercel", "netlify", "gh", "docker", "podman", "nerdctl",
}

var secureDenyArgs = [...]struct {
	cmd      string
	patterns []string
}{
	{"find", []string{"-exec", "-execdir", "-ok", "-okdir", "-delete", "-fprint", "-fprint0", "-fprintf", "-fls"}},
}

var secureApproval = [...]string{string(FSDelete), string(SubprocessExec)}

// presetSpec returns a fresh copy of a preset's layer.
func presetSpec(name string) (*spec, bool) {
	if name != secureDefaults {
		return nil, false
	}
	src := Source{Preset: name}
	entries := func(vals []string) []Entry {
		out := make([]Entry, len(vals))
		for i, v := range vals {
			out[i] = Entry{Value: v, From: src}
		}
		return out
	}
	s := newSpec()
	s.RequiresApproval = entries(secureApproval[:])
	s.FS.Deny = entries(secureFSDeny[:])
	s.Net.DenyIPs = entries(secureDenyIPs[:])
	s.Net.DenyHosts = entries(secureDenyHosts[:])
	s.Env.DenyVars = entries(secureDenyVars[:])
	s.Sub.DenyCommands = entries(secureDenyCommands[:])
	for _, da := range secureDenyArgs {
		s.Sub.DenyArgs = append(s.Sub.DenyArgs, argList{Command: da.cmd, From: src, Patterns: entries(da.patterns)})
	}
	sort.SliceStable(s.Sub.DenyArgs, func(i, j int) bool { return s.Sub.DenyArgs[i].Command < s.Sub.DenyArgs[j].Command })
	return s, true
}

// reservedVars are environment variables Aegis itself uses for credentials
// and control-plane addresses. No policy can allow them (negation does not
// reach them) and they are never passed to a child process.
var reservedVars = [...]string{
	"AEGIS_AUTH_TOKEN", "AEGIS_TOKEN", "AEGIS_SERVER_TOKEN", "AEGIS_JWT", "AEGIS_API_KEY",
	"AEGIS_POLICY_URL", "AEGIS_AUDIT_URL",
}
