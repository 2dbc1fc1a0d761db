// Package textedit edits the lines of text files for LineInFile and
// BlockInFile. An edit is planned from the content observed on the host
// and expressed with exact lines (replace this line, insert after that
// one, the block between these markers), never with positions or
// patterns, so that it still applies when another resource changed other
// lines of the file earlier in the same run. The same edit runs in Go, to
// plan and show the diff, and as awk on the host, inside the safe write
// path every kind that writes a file uses (guarded path, temporary file,
// validation, rename).
package textedit
