//go:build !unix

package main

import "os"

// reserveStdout cannot move descriptors here; the protocol keeps stdout
// and the rest of the program is trusted not to write to it.
func reserveStdout() (*os.File, error) { return os.Stdout, nil }
