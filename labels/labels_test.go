package labels

import (
	"fmt"
	"reflect"
	"testing"
)

func TestLattice(t *testing.T) {
	r := NewRegistry()
	a := r.Principal(Env("A"))
	b := r.Principal(File("secrets/**"))
	if a == b || a.IsPublic() || b.IsPublic() {
		t.Fatalf("distinct principals must get distinct non-public bits: %x %x", a, b)
	}
	if got := r.Principal(Env("A")); got != a {
		t.Errorf("interning is not stable: %x then %x", a, got)
	}
	ab := a.Join(b)
	for _, c := range []struct {
		l, m Label
		want bool
	}{
		{Public, Public, true}, {Public, a, true}, {a, Public, false},
		{a, ab, true}, {ab, a, false}, {ab, ab, true}, {a, b, false},
	} {
		if got := c.l.FlowsTo(c.m); got != c.want {
			t.Errorf("%s.FlowsTo(%s) = %v, want %v", r.Format(c.l), r.Format(c.m), got, c.want)
		}
	}
	if a.Join(Public).Join(b) != ab || a.Join(a) != a {
		t.Error("join is not union")
	}
	if got, want := r.Names(ab), []string{"env:A", "file:secrets/**"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Names = %v, want %v", got, want)
	}
	if r.Format(Public) != "public" || r.Format(a) != "{env:A}" {
		t.Errorf("Format: %q %q", r.Format(Public), r.Format(a))
	}
	if got := r.Names(1 << 40); !reflect.DeepEqual(got, []string{"unknown:40"}) {
		t.Errorf("an unnamed bit must still be reported, got %v", got)
	}
}

func TestOverflowStaysSecret(t *testing.T) {
	r := NewRegistry()
	var all Label
	for i := 0; i < 70; i++ {
		l := r.Principal(Cmd(fmt.Sprint("c", i)))
		if l.IsPublic() {
			t.Fatalf("principal %d got the public label", i)
		}
		all = all.Join(l)
	}
	if all.Count() != 64 {
		t.Errorf("70 principals should use all 64 bits, used %d", all.Count())
	}
	late, _ := r.Lookup(Cmd("c69"))
	if late != Overflow {
		t.Errorf("late principal = %x, want Overflow", late)
	}
	names := r.Names(Overflow)
	if len(names) != 7 {
		t.Errorf("Overflow should name the 7 late principals, got %v", names)
	}
}

func BenchmarkJoinFlowsTo(b *testing.B) {
	ls := []Label{0, 1, 2, 4 | 8, 1 << 63}
	var acc Label
	ok := 0
	for i := 0; i < b.N; i++ {
		acc = acc.Join(ls[i%len(ls)])
		if ls[(i+1)%len(ls)].FlowsTo(acc) {
			ok++
		}
	}
	_ = ok
}
