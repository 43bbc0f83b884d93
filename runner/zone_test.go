package runner

import "testing"

// Writing into the zone under a secret condition is what the zone is for;
// paths through the zone from public code are the zone's.
func TestZonePathsInRuns(t *testing.T) {
	p := baseProject(t)
	res := p.run(`s = env.read("RUN_SECRET")
if s:
    fs.write("zone/x", s)
print("stored")`)
	want(t, res, OK)
	if res.Stdout != "stored\n" {
		t.Fatalf("stdout %q", res.Stdout)
	}
	// A path through the zone back out to a public file is the zone's: its
	// outcome is labelled, and a write there is a flow error.
	res = p.run(`fs.write("zone/../out/x", "public")`)
	want(t, res, FlowDenied)
	res = p.run(`print(fs.read("zone/../src/a.txt"))`)
	want(t, res, OK)
	if res.Stdout != "[REDACTED]\n" {
		t.Fatalf("a read through the zone came back unlabelled: %q", res.Stdout)
	}
}
