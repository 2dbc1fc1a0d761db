package reconcilers

import (
	"fmt"
	"strings"
)

// ValidatedWriteScript is AtomicWriteScript with a validation command: the
// new content is written to the temporary file next to file, given its mode
// and ownership, then validate runs with every %s replaced by the quoted
// temporary path, and only when it exits 0 is the file moved into place.
// Otherwise the script fails with the command's output and file is left as
// it was.
func ValidatedWriteScript(file, mode, ownership, validate string) string {
	return validatedWriteScript(file, mode, ownership, validate, fromStdin)
}

// ValidatedWriteContentScript is ValidatedWriteScript for content that
// travels in the script itself; the caller checks InlineContent first.
func ValidatedWriteContentScript(file, mode, ownership, validate string, content []byte) string {
	return validatedWriteScript(file, mode, ownership, validate, inlineContent(content))
}

func validatedWriteScript(file, mode, ownership, validate, source string) string {
	if validate == "" {
		return atomicWriteScript(file, mode, ownership, "", source)
	}
	cmd := strings.ReplaceAll(validate, "%s", `"$t"`)
	check := fmt.Sprintf("_ov=$( { %s\n} 2>&1 ); _oc=$?\n"+
		"if [ $_oc -ne 0 ]; then printf 'optimus: %%s rejected the new content of %%s (exit status %%s); the file is unchanged:\\n%%s\\n' %s %s \"$_oc\" \"$_ov\" >&2; exit 1; fi",
		cmd, ShellCommand(validate), ShellCommand(file))
	return atomicWriteScript(file, mode, ownership, check, source)
}

// ValidatedEditScript is ValidatedWriteScript for an edit of file: the new
// content is what the shell command edit prints, given the file's current
// content on its standard input (nothing, when the file does not exist and
// create is set). The file is read when the action runs, so that edits of
// other resources earlier in the run are kept. An empty mode or ownership
// keeps the file's own as it is then (a File may have made it in this
// run); a file the edit creates gets 0644 and the acting user. prep, when
// not empty, runs first and may read the script's standard input. A file
// that is not regular, or a symbolic link, is refused.
func ValidatedEditScript(file, mode, ownership, validate string, create bool, prep, edit string) string {
	keep, fresh := "", ""
	if mode == "" {
		keep += ` && chmod "$(stat -c %a -- "$f")" "$t"`
		fresh += ` && chmod 0644 "$t"`
	}
	if ownership == "" {
		keep += ` && chown "$(stat -c %u:%g -- "$f")" "$t"`
	}
	missing := `echo "optimus: $f does not exist: create it first (for example with a File resource), or set create: true" >&2; false`
	if create {
		missing = edit + " </dev/null" + fresh
	}
	source := `if [ -L "$f" ] || { [ -e "$f" ] && [ ! -f "$f" ]; }; then echo "optimus: $f is not a regular file" >&2; false` +
		"; elif [ -e \"$f\" ]; then " + edit + ` <"$f"` + keep + "; else " + missing + "; fi"
	if prep != "" {
		source = "{ " + prep + " && " + source + "; }"
	}
	return validatedWriteScript(file, mode, ownership, validate, source)
}
