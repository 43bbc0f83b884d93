package lazyre

import "testing"

func TestNew(t *testing.T) {
	re := New(`^a+b$`)
	if re() != re() {
		t.Error("each call compiled the expression again")
	}
	if !re().MatchString("aab") || re().MatchString("ba") {
		t.Error("the compiled expression does not match as written")
	}
	defer func() {
		if recover() == nil {
			t.Error("an invalid expression did not panic on first use")
		}
	}()
	New(`(`)()
}
