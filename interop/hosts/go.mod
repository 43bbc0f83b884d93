module github.com/aegisdev/aegis/interop/hosts

go 1.26.0

require github.com/aegisdev/aegis v0.0.0

require golang.org/x/sys v0.50.0 // indirect

replace github.com/aegisdev/aegis => ../..
