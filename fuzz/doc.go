// Package fuzz holds the fuzz targets of the policy engine, run with
// `go test -fuzz`:
//
//	FuzzPolicyLoad  the TOML loader: any bytes either load or fail with a
//	                *policy.LoadError; a loaded policy can be described and
//	                asked questions
//	FuzzPathMatch   path patterns and targets: decisions never panic, and a
//	                path whose name is .env is never readable under a
//	                policy that denies it
//	FuzzHostMatch   host patterns and URLs: an allowed decision always
//	                carries a vetted address outside deny_ips
//	FuzzArgvMatch   deny_args patterns and argv: a command line holding a
//	                pattern's own words is always denied
//
// Seed corpora live in testdata/fuzz/<Target>/ and run as ordinary tests
// with `go test ./fuzz/`. The targets use only the exported API of package
// policy, the same surface builtins and the runner use. Each iteration is
// kept small (one load, a few decisions) so a short CI run
// (-fuzztime=30000x per target, a few seconds each) covers many inputs.
package fuzz
