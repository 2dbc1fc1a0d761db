// Command checktree fails when a file tracked by git is a compiled binary
// (ELF, Mach-O, PE or WebAssembly) or larger than a limit, naming each one,
// so that a build output committed by mistake never reaches a release.
//
//	go run ./hack/checktree [-max-bytes N]
//
// hack/test.sh runs it first. A file that must be tracked despite the rules
// goes into the allowed list in main.go, with the reason.
package main
