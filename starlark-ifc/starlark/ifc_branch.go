// This file is an Aegis addition: the interpreter's one entry point into the
// branch analysis of internal/compile (ifc.go there).

package starlark

import "github.com/aegisdev/aegis/starlark-ifc/internal/compile"

// branchAt returns the implicit-flow region of the CJMP or ITERJMP at pc.
func branchAt(f *compile.Funcode, pc uint32) *compile.Branch { return f.Branch(pc) }
