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
