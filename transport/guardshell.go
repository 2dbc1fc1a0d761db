package transport

// guardShell defines _og, the act-time half of the path rule of the
// reconcilers package (see the top of reconcilers/safepath.go and
// docs/security.md). The persistent shell defines it once per connection,
// so a guarded command carries only its call: each command runs in a
// subshell, so none can change it for the next.
//
// _og PATH OWNER [a|d] walks PATH's directories from / and sets _gU/_gN to
// the uid and path of the user who controls PATH (empty: only root). It
// lists the directories with one stat (which never follows the component
// it is asked about) and decides on what it printed: a directory only root
// can change stays as it was seen, so deciding after the fact is safe; the
// first directory of another user hands the rest to that user, who can then
// do no more than they could anyway; a root symbolic link in such
// directories is followed by walking its target the same way.
//
// A missing directory is never passed over: what a user could plant there
// after the check is exactly what the act would then follow. Without a
// mode the guard refuses it; with "a" it creates the missing directories
// above PATH, with "d" PATH too, one mkdir at a time as root (mkdir fails
// rather than follow anything that appeared), and walks again from a
// directory that appeared meanwhile, judging it by the same rule rather
// than refusing it. It refuses, with a message and status 1, what
// CheckPath refuses, and an OWNER other than the controlling user.
const guardShell = `_og() {
	_gP=$1 _gp=$1 _gw=$2 _gk=$3 _gU= _gN= _gc= _gn=0 _gs=0 _gL='
'
	while :; do
		_gr=${_gp#"$_gc"}; _gr=${_gr#/}; _ga=$_gc
		set --
		while :; do
			case $_gr in */*) ;; *) break ;; esac
			_ga=$_ga/${_gr%%/*}; _gr=${_gr#*/}
			set -- "$@" "$_ga"
		done
		[ $# -gt 0 ] || break
		_gl=$(stat -c '%u %g %f %n' -- "$@" 2>/dev/null)$_gL _gx=
		for _ga do
			_gi=${_gl%%"$_gL"*} _gu= _gf=
			if [ "${_gi#* * * }" = "$_ga" ]; then
				_gl=${_gl#*"$_gL"} _gu=${_gi%% *} _gi=${_gi#* }
				_gg=${_gi%% *} _gi=${_gi#* } _gf=${_gi%% *}
			fi
			if [ -z "$_gf" ]; then
				# Below a user's directory the rest is theirs to create.
				[ -z "$_gU" ] || break
				if [ -z "$_gk" ]; then
					echo "optimus: directory ${_gp%/*} does not exist: create it first (for example with a Directory resource)" >&2
					return 1
				fi
				if _ge=$(mkdir -m 0755 -- "$_ga" 2>&1); then _gs=0 _gc=$_ga; continue; fi
				[ -e "$_ga" ] || [ -L "$_ga" ] || { echo "optimus: $_ge" >&2; return 1; }
				_gn=$((_gn + 1)) _gx=1
				break
			fi
			case $((0x$_gf & 61440)) in
			40960)
				_gt=$(readlink -- "$_ga")
				if [ -n "$_gU" ] || [ "$_gu" != 0 ]; then
					echo "optimus: $_ga is a symbolic link to $_gt owned by $(stat -c %U -- "$_ga"); refusing to follow it" >&2
					return 1
				fi
				case $_gt in /*) ;; *) _gt=${_ga%/*}/$_gt ;; esac
				_gp=$_gt${_gp#"$_ga"} _gc= _gn=$((_gn + 1)) _gx=1
				break ;;
			16384) ;;
			*) echo "optimus: $_ga is not a directory" >&2; return 1 ;;
			esac
			# Below a user's directory the walk goes on only to refuse
			# a link there with a clear message: acting as the user is
			# what makes the rest safe.
			[ -z "$_gU" ] || continue
			_gs=$((0x$_gf & 512))
			if [ "$_gu" != 0 ]; then
				_gU=$_gu _gN=$_ga
			elif [ "$_gs" = 0 ] && [ $((0x$_gf & 2)) != 0 ]; then
				echo "optimus: $_ga is writable by every user and not sticky; refusing to act below it" >&2
				return 1
			elif [ "$_gs" = 0 ] && [ $((0x$_gf & 16)) != 0 ] && [ "$_gg" != 0 ]; then
				echo "optimus: $_ga is writable by group $(stat -c %G -- "$_ga"); refusing to act below it: its members could swap what is there" >&2
				return 1
			fi
			_gc=$_ga
		done
		[ "$_gn" -le 40 ] || { echo "optimus: too many symbolic links or changes on the way to $_gP; refusing to go on" >&2; return 1; }
		[ -n "$_gx" ] || break
	done
	if [ -z "$_gU" ] && [ "$_gk" = d ] && ! mkdir -m 0755 -- "$_gp" 2>/dev/null && [ "$_gs" = 0 ]; then
		[ -e "$_gp" ] || [ -L "$_gp" ] || { echo "optimus: cannot create directory $_gp" >&2; return 1; }
	fi
	if [ -z "$_gU" ] && [ "$_gs" != 0 ]; then
		set -- $(stat -c %u -- "$_gp" 2>/dev/null)
		[ $# -eq 0 ] || [ "$1" = 0 ] || _gU=$1 _gN=$_gp
	fi
	[ -n "$_gU" ] && [ -n "$_gw" ] || return 0
	_gi=$(id -u -- "$_gw") || return 1
	[ "$_gi" = "$_gU" ] && return 0
	echo "optimus: $_gP cannot be owned by $_gw: $_gN is controlled by $(id -nu -- "$_gU" 2>/dev/null || echo "uid $_gU"), who could replace it at any time" >&2
	return 1
}
`
