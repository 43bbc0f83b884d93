package exfilprobes

import (
	"testing"
)

func TestCatalogParsesEveryScript(t *testing.T) {
	scripts, err := Catalog()
	if err != nil {
		t.Fatal(err)
	}
	byKind := map[Kind]int{}
	categories := map[string]int{}
	predecessor := 0
	for _, sc := range scripts {
		byKind[sc.Kind]++
		if sc.Kind == KindProbe || sc.Kind == KindBudget {
			categories[sc.Category]++
		}
		if sc.Category == "predecessor" {
			predecessor++
		}
	}
	if predecessor != 12 {
		t.Errorf("the predecessor's twelve probes: found %d", predecessor)
	}
	if own := byKind[KindProbe] + byKind[KindBudget] - predecessor; own < 30 {
		t.Errorf("at least thirty probes of our own: found %d", own)
	}
	if attacks := byKind[KindProbe] + byKind[KindBudget]; attacks < 170 {
		t.Errorf("at least 170 attack probes: found %d", attacks)
	}
	// The leak classes of the boundary between the interpreter and the host (issue 9), each with
	// several variants.
	for cat, least := range map[string]int{"arg-error": 10, "arity": 5, "binding": 5, "progress": 5, "zone-state": 5, "crash": 3, "approval": 5} {
		if categories[cat] < least {
			t.Errorf("category %s: %d probes, want at least %d", cat, categories[cat], least)
		}
	}
	if byKind[KindBudget] != 1 {
		t.Errorf("one budget probe expected, found %d", byKind[KindBudget])
	}
	if byKind[KindUtility] < 3 || byKind[KindCanary] < 4 {
		t.Errorf("controls: %d utilities, %d canaries", byKind[KindUtility], byKind[KindCanary])
	}
	t.Logf("kinds %v categories %v", byKind, categories)
}
