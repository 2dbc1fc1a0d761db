package transport

// loopScript is the persistent shell, passed as the argument of sh -c (so
// nothing of it travels on stdin). It creates no file: everything it needs
// travels on its stdin, read with the read builtin (which reads a pipe byte
// by byte and so never takes more than its line) or with head -c (which
// reads exactly the bytes it is asked for).
//
// It first says hello, then reads the frame marker, a random nonce of the
// connection, as its first line: the marker is never in any argv, so no user
// of the host can learn it from ps, and output that a command reads from the
// host cannot forge a frame. Each batch then starts with a header line:
//
//	L<n>  n lines of script follow; read them with read too and eval them.
//	      Used for small batches: it forks nothing.
//	<n>   n bytes of script follow; head -c copies them into a variable,
//	      never a file. Used for large batches.
//
// The stdin payloads of the batch follow its script, in command order: each
// command reads its own with head -c through a pipe when it runs (see
// encodeBatch), so no byte of a payload, a secret included, is written to a
// file other than the one the command writes. A command's stdout passes
// through; its stderr goes to the shell's stderr, ended by a frame line.
//
// Its variables start with _o so that commands do not trip over them.
//
// _og is the path guard of the reconcilers package (see guardShell),
// defined here so that a guarded command need not carry it.
//
// _oiso (see Isolate) runs a command that the host's users may reach into
// with fresh descriptors: its stdout and stderr are pipes read by two
// relays (awk) that copy at most relayLimit bytes each to the shell's own
// output and stop at a line the shell writes after the command has ended.
// That line carries the marker, which awk takes from its environment (no
// user can read a root process's environment, unlike its argv), so nothing
// the command or a descendant writes can end the relay early or pass for
// another command's output; once the relay has stopped, a descriptor a
// descendant kept leads nowhere. The line follows a newline of its own: a
// last line left non-empty before it had none, so the output comes through
// byte for byte. The command's stdin is what the caller
// gave (/dev/null, or a pipe of its own payload), never the shell's.
const loopScript = `trap 'exit 129' HUP INT TERM PIPE
printf 'optimus-shell\n'
IFS= read -r _oM || exit 70
_or() {
	printf '\n%s e\n' "$_oM" >&2
	printf '\n%s S %d %d\n' "$_oM" "$1" "$2"
}
_oA='BEGIN { m = ENVIRON["_oM"] " U "; lim = ` + relayLimit + ` }
index($0, m) == 1 { if (p && q != "") put(""); done = 1; exit substr($0, length(m) + 1) + 0 }
{ if (p) put("\n"); q = $0; p = 1 }
function put(nl) { n += length(q) + 1; if (n <= lim) printf "%s%s", q, nl; else if (!cut) { cut = 1; print "optimus: output cut at " lim " bytes" > "/dev/stderr" } }
END { if (!done) exit 125 }'
_oiso() {
	{ { "$@" 2>&1 1>&5 5>&-; printf '\n%s U %d\n' "$_oM" $? >&5; printf '\n%s U 0\n' "$_oM"; } | _oM=$_oM awk "$_oA" >&2 5>&-; } 5>&1 | _oM=$_oM awk "$_oA"
}
` + guardShell + `printf '%s R %d\n' "$_oM" "$$"
printf '\n%s r\n' "$_oM" >&2
while IFS= read -r _on; do
	case $_on in
	L*)
		_oi=${_on#L} _ob=
		while [ "$_oi" -gt 0 ]; do
			IFS= read -r _ol || exit 71
			_ob="$_ob$_ol
"
			_oi=$((_oi - 1))
		done
		eval "$_ob"
		;;
	*)
		_ob=$(head -c "$_on"; echo .) || exit 71
		eval "${_ob%.}"
		;;
	esac
done
`

// relayLimit is how much of each output stream of an isolated command
// reaches Optimus (see Isolate); the rest is dropped with a note.
const relayLimit = "1048576"

// Isolate returns a shell command that runs command (shell words, such as
// Quote builds) with fresh descriptors: whatever the command or any of its
// descendants writes reaches Optimus only as this command's output, bounded,
// and only while the command runs. Every command that runs as a host user,
// or that starts programs which may outlive it (services, package scripts,
// user-supplied commands), must run this way, or a process keeping the
// shell's output could forge the results of later commands. Its exit status
// is the command's; 125 means the relay was cut short.
func Isolate(command string) string { return "_oiso " + command }

// helloLine is what the shell prints before it reads the marker.
const helloLine = "optimus-shell\n"
