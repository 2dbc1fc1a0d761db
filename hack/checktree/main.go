package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// defaultMaxBytes is the largest tracked file allowed: the biggest source
// file today is ~35 KB, while a committed binary is megabytes.
const defaultMaxBytes = 1 << 20

// allowed lists tracked files exempt from the checks, each with its reason.
// It is empty today: nothing the repository needs breaks the rules.
var allowed = map[string]string{}

func main() {
	maxBytes := flag.Int64("max-bytes", defaultMaxBytes, "largest tracked file allowed, in bytes")
	flag.Parse()
	problems, err := checkRepo(".", *maxBytes, allowed)
	if err != nil {
		fmt.Fprintf(os.Stderr, "checktree: %v\n", err)
		os.Exit(2)
	}
	for _, p := range problems {
		fmt.Fprintf(os.Stderr, "checktree: %s\n", p)
	}
	if len(problems) > 0 {
		fmt.Fprintf(os.Stderr, "checktree: %d tracked file(s) must not be committed: git rm --cached them and let .gitignore keep them out (or list a justified exception in hack/checktree/main.go)\n", len(problems))
		os.Exit(1)
	}
}

// problem is one tracked file breaking a rule.
type problem struct {
	path   string
	reason string
}

func (p problem) String() string { return p.path + ": " + p.reason }

// checkRepo checks every file git tracks in the repository at root.
func checkRepo(root string, maxBytes int64, allow map[string]string) ([]problem, error) {
	cmd := exec.Command("git", "ls-files", "-z", "--cached")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, fmt.Errorf("git ls-files in %s: %v: %s", root, err, bytes.TrimSpace(ee.Stderr))
		}
		return nil, fmt.Errorf("git ls-files in %s: %w", root, err)
	}
	var problems []problem
	for _, path := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		if path == "" || allow[path] != "" {
			continue
		}
		reason, err := checkFile(filepath.Join(root, path), maxBytes)
		if err != nil {
			return nil, err
		}
		if reason != "" {
			problems = append(problems, problem{path, reason})
		}
	}
	return problems, nil
}

// checkFile returns why the file must not be tracked, or "". A tracked
// file missing from the work tree (deleted, not yet committed) is fine.
func checkFile(path string, maxBytes int64) (string, error) {
	st, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if !st.Mode().IsRegular() {
		return "", nil // symlinks and submodules hold no content of their own
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	head := make([]byte, 512)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	if kind := binaryKind(head[:n], f); kind != "" {
		return fmt.Sprintf("a compiled %s binary (%d bytes)", kind, st.Size()), nil
	}
	if st.Size() > maxBytes {
		return fmt.Sprintf("%d bytes, over the limit of %d", st.Size(), maxBytes), nil
	}
	return "", nil
}

// binaryKind names the executable format whose magic number starts head,
// or returns "". f is read for the PE signature, which sits at an offset
// the DOS header gives.
func binaryKind(head []byte, f io.ReaderAt) string {
	switch {
	case bytes.HasPrefix(head, []byte("\x7fELF")):
		return "ELF"
	case bytes.HasPrefix(head, []byte("\x00asm")):
		return "WebAssembly"
	}
	if len(head) >= 4 {
		switch binary.BigEndian.Uint32(head) {
		case 0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe, 0xcafebabe:
			return "Mach-O"
		}
	}
	// "MZ" alone starts some text; a PE file also has "PE\0\0" where the
	// DOS header's e_lfanew points.
	if bytes.HasPrefix(head, []byte("MZ")) && len(head) >= 0x40 {
		off := int64(binary.LittleEndian.Uint32(head[0x3c:]))
		sig := make([]byte, 4)
		if _, err := f.ReadAt(sig, off); err == nil && string(sig) == "PE\x00\x00" {
			return "PE"
		}
	}
	return ""
}
