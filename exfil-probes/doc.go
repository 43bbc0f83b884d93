// Package exfilprobes is the exfiltration probe suite behind `aegis probe`: attack scripts that try to
// get a local-only secret out of an Aegis run, and a differential harness that decides, from what a
// user of the run can see, whether any of them succeeded.
//
// The map of the package:
//
//   - probes/*.star and controls/*.star (embedded): the scripts. Each opens with a header of
//     "# key: value" lines (name, category, what it tries, what it would reveal, which sink) parsed by
//     [Catalog] into [Script]. A Script's Kind says how it is judged: an attack probe, a utility script
//     that must succeed with an exact output, a canary that must be caught, or the multi-run budget probe.
//   - policy.toml (embedded): the fixture policy. [Config.PolicyTemplate] replaces it.
//   - [Secrets] and [PatternsFor]: the fixture secrets (two of one length, one of another, a fourth
//     sharing the first one's prefix) and the transforms of each that must never appear anywhere.
//   - [Executor] and [Session]: how a script is run. [CLIExecutor] spawns `aegis run`; [MCPExecutor]
//     speaks newline-delimited JSON-RPC to `aegis-mcp` and calls its aegis_run tool. Tests use fakes.
//   - [Run] (harness.go): for every script and every secret it rebuilds a work directory, starts a
//     session, runs the script, and collects every public observable: the termination (exit status),
//     stdout, stderr, MCP result content, files outside the local-only zone, the requests a
//     loopback HTTP server saw, and the questions the run asked (the transcript of the pseudo-
//     terminal `aegis run` gets, the requests aegis-mcp sends, elicitations included). Private
//     observables (audit log, server logs) are only scanned.
//   - [Judge] (verdict.go): the verdict. Within each group of runs that terminated the same way,
//     every public observable must be identical, and no observable may contain a secret or a known
//     transform of it; otherwise LEAK. Groups that differ only by how they terminated: TERM. One group
//     and nothing differs: BLOCKED. A repeat run with the first secret guards against noise.
//   - [Report] (report.go): the table, the summary line and the JSON form.
//
// The invariant this package protects: a verdict of BLOCKED or TERM is only reported when the
// controls passed, so the suite can never pass because nothing ran; and a run that crashed or
// hung the runtime fails its control whatever the verdict.
package exfilprobes
