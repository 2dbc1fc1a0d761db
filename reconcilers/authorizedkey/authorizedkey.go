package authorizedkey

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/transport"
)

// KeyPrefix starts the Key of the query; it ends with a hash of the users.
const KeyPrefix = "authorizedkeys."

// Reconciler reconciles AuthorizedKey resources.
type Reconciler struct{}

var (
	_ reconcilers.TypedReconciler[v1alpha1.AuthorizedKeySpec]       = Reconciler{}
	_ reconcilers.TypedDependencyLister[v1alpha1.AuthorizedKeySpec] = Reconciler{}
)

// Kind implements reconcilers.Reconciler.
func (Reconciler) Kind() string { return v1alpha1.AuthorizedKeyKind.Kind }

// queryFunc prints, per user: the user, a state (ok or nouser) and, for ok,
// the home directory, the PathsQuery records of every directory above
// ~/.ssh/authorized_keys and of the file itself (so that plan applies the
// rule of reconcilers.Guard), and the file's content in base64, read as the
// owner of the home directory so that a link planted there reads nothing
// that user could not read. A file larger than reconcilers.ReadLimit is not
// read: "!" and its size stand for its content (base64 has no "!"), and
// head -c bounds a file that grows after stat.
var queryFunc = `optimus_keys() {
	h=$(getent passwd "$1" | cut -d: -f6)
	if [ -z "$h" ]; then printf '%s\0nouser\0' "$1"; return; fi
	printf '%s\0ok\0%s\0' "$1" "$h"
	p=$h/.ssh/authorized_keys
	(` + reconcilers.AncestorsShell + `
	` + reconcilers.FindRecordsCommand(`"$@"`) + `)
	c=
	if [ -f "$p" ] && [ ! -L "$p" ]; then
		s=$(stat -c %s -- "$p") || s=0
		if [ "$s" -gt ` + readLimit + ` ]; then c="!$s"
		else
			set -- $(stat -c '%u %g' -- "$h")
			if [ "$1" = 0 ]; then c=$(head -c ` + readLimitPlus1 + ` -- "$p" | base64 -w0) || c=
			else c=$(` + transport.Isolate(`setpriv --reuid="$1" --regid="$2" --clear-groups -- sh -c 'head -c `+readLimitPlus1+` -- "$1" | base64 -w0' sh "$p"`) + `) || c=; fi
		fi
	fi
	printf '%s\0' "$c"
}
`

var (
	readLimit      = strconv.Itoa(reconcilers.ReadLimit)
	readLimitPlus1 = strconv.Itoa(reconcilers.ReadLimit + 1)
)

// Queries reads the authorized_keys of every user named on the host in one
// command.
func (Reconciler) Queries(_ *v1alpha1.Host, objs []reconcilers.Object[v1alpha1.AuthorizedKeySpec]) []reconcilers.Query {
	users := map[string]bool{}
	for _, o := range objs {
		users[o.Spec.User] = true
	}
	names := make([]string, 0, len(users))
	for u := range users {
		names = append(names, u)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(queryFunc)
	for _, u := range names {
		b.WriteString("optimus_keys " + reconcilers.ShellCommand(u) + "\n")
	}
	b.WriteString("exit 0\n")
	sum := sha256.Sum256([]byte(b.String()))
	return []reconcilers.Query{{Key: KeyPrefix + hex.EncodeToString(sum[:8]), Script: b.String()}}
}

// Dependencies orders a key after the User resource of its user.
func (Reconciler) Dependencies(obj reconcilers.Object[v1alpha1.AuthorizedKeySpec], all []*v1alpha1.Resource) []v1alpha1.ResourceRef {
	s := obj.Spec
	if s.State == v1alpha1.StateAbsent {
		return nil
	}
	return reconcilers.AccountDependencies(s.User, "", all)
}

// observed is what the query found for one user.
type observed struct {
	userExists bool
	home       string
	records    map[string]reconcilers.PathInfo
	content    []byte
	// tooLarge is the size of an authorized_keys larger than
	// reconcilers.ReadLimit, which was not read (-1: size unknown).
	tooLarge int64
}

func find(f *reconcilers.Facts, user string) (observed, error) {
	for _, k := range f.Keys(KeyPrefix) {
		out, err := f.Stdout(k)
		if err != nil {
			return observed{}, err
		}
		b := []byte(out)
		field := func() (string, error) {
			j := bytes.IndexByte(b, 0)
			if j < 0 {
				return "", fmt.Errorf("query %s: truncated record", k)
			}
			v := string(b[:j])
			b = b[j+1:]
			return v, nil
		}
		for len(b) > 0 {
			name, err := field()
			if err != nil {
				return observed{}, err
			}
			state, err := field()
			if err != nil {
				return observed{}, err
			}
			o := observed{userExists: state == "ok"}
			if o.userExists {
				if o.home, err = field(); err != nil {
					return observed{}, err
				}
				if o.records, b, err = reconcilers.ParseFindRecords(b); err != nil {
					return observed{}, fmt.Errorf("query %s: %w", k, err)
				}
				c, err := field()
				if err != nil {
					return observed{}, err
				}
				if size, big := strings.CutPrefix(c, "!"); big {
					if o.tooLarge, err = strconv.ParseInt(size, 10, 64); err != nil {
						o.tooLarge = -1
					}
				} else if o.content, err = base64.StdEncoding.DecodeString(c); err != nil {
					return observed{}, fmt.Errorf("query %s: content of %s's authorized_keys: %w", k, user, err)
				} else if len(o.content) > reconcilers.ReadLimit {
					o.content, o.tooLarge = nil, -1 // it grew after stat
				}
			}
			if name == user {
				return o, nil
			}
		}
	}
	return observed{}, fmt.Errorf("user %s was not observed: the reconciler did not declare it in its query", user)
}

// Blob returns the base64 key material of an authorized key line, which
// identifies the key whatever its options and comment.
func Blob(key string) (string, error) {
	f := strings.Fields(key)
	if len(f) < 2 {
		return "", fmt.Errorf("key %q is not of the form \"TYPE BASE64 [comment]\"", key)
	}
	if _, err := base64.StdEncoding.DecodeString(f[1]); err != nil {
		return "", fmt.Errorf("key material of %q is not valid base64", f[0])
	}
	return f[1], nil
}

// Line is the authorized_keys line the spec asks for.
func Line(s *v1alpha1.AuthorizedKeySpec) string {
	key := strings.Join(strings.Fields(s.Key), " ")
	if s.Options == "" {
		return key
	}
	return s.Options + " " + key
}

// Plan implements reconcilers.Reconciler.
func (Reconciler) Plan(_ context.Context, req reconcilers.TypedRequest[v1alpha1.AuthorizedKeySpec]) ([]reconcilers.Action, error) {
	s := req.Spec
	blob, err := Blob(s.Key)
	if err != nil {
		return nil, fmt.Errorf("spec.key: %w", err)
	}
	cur, err := find(req.Facts, s.User)
	if err != nil {
		return nil, err
	}
	// "mode/owner" of ~/.ssh and of the file, empty when missing.
	var dirState, fileState string
	if cur.userExists {
		file := path.Join(cur.home, ".ssh", "authorized_keys")
		info, err := reconcilers.CheckPathIn(cur.records, file)
		if err != nil {
			return nil, err
		}
		if info.Exists && info.Type != "file" {
			return nil, fmt.Errorf("%s is %s, not a regular file; refusing to touch it", file, info.Describe())
		}
		if info.Exists {
			fileState = fmt.Sprintf("%o/%s", info.Mode, info.Owner)
		}
		if cur.tooLarge != 0 {
			return nil, &reconcilers.TooLargeError{What: file, Size: cur.tooLarge, Limit: reconcilers.ReadLimit,
				Hint: "it is left as it is: shrink it or remove it on the host (it belongs to " + info.Owner + ")"}
		}
		if d := cur.records[path.Dir(file)]; d.Exists {
			dirState = fmt.Sprintf("%o/%s", d.Mode, d.Owner)
		}
	}
	want := Line(s)
	var lines []string // lines that hold the key
	for _, l := range strings.Split(string(cur.content), "\n") {
		if hasField(l, blob) {
			lines = append(lines, strings.TrimSpace(l))
		}
	}
	short := shortKey(s.Key)
	if s.State == v1alpha1.StateAbsent {
		if len(lines) == 0 {
			return nil, nil
		}
		return []reconcilers.Action{{
			Op:          reconcilers.OpDelete,
			Description: "remove key " + short + " from " + s.User + "'s authorized_keys",
			Changes:     []reconcilers.Change{{Field: "key", Before: strings.Join(lines, "\n")}},
			Script:      script(s.User, blob, ""),
		}}, nil
	}
	var changes []reconcilers.Change
	if len(lines) != 1 || lines[0] != want {
		changes = append(changes, reconcilers.Change{Field: "key", Before: strings.Join(lines, "\n"), After: want})
	}
	if cur.userExists && dirState != "700/"+s.User {
		changes = append(changes, reconcilers.Change{Field: "~/.ssh", Before: dirState, After: "700/" + s.User})
	}
	if cur.userExists && fileState != "" && fileState != "600/"+s.User {
		changes = append(changes, reconcilers.Change{Field: "authorized_keys", Before: fileState, After: "600/" + s.User})
	}
	if len(changes) == 0 {
		return nil, nil
	}
	op, desc := reconcilers.OpUpdate, "fix permissions of "+s.User+"'s authorized_keys"
	switch {
	case changes[0].Field == "key" && len(lines) == 0:
		op, desc = reconcilers.OpCreate, "add key "+short+" to "+s.User+"'s authorized_keys"
	case changes[0].Field == "key":
		desc = "update key " + short + " in " + s.User + "'s authorized_keys"
	}
	return []reconcilers.Action{{Op: op, Description: desc, Changes: changes, Script: script(s.User, blob, want)}}, nil
}

func hasField(line, field string) bool {
	for _, f := range strings.Fields(line) {
		if f == field {
			return true
		}
	}
	return false
}

// shortKey names a key in descriptions: its type and comment, or the end of
// its key material.
func shortKey(key string) string {
	f := strings.Fields(key)
	switch {
	case len(f) >= 3:
		return f[0] + " " + strings.Join(f[2:], " ")
	case len(f) == 2 && len(f[1]) > 12:
		return f[0] + " ..." + f[1][len(f[1])-12:]
	}
	return key
}

// awkKeys drops every line holding the key material and, when a line is
// given, appends it: other keys, comments and order are kept.
const awkKeys = `{ for (i = 1; i <= NF; i++) if ($i == ENVIRON["O_BLOB"]) next; print }
END { if (ENVIRON["O_LINE"] != "") print ENVIRON["O_LINE"] }`

// script rewrites the user's authorized_keys atomically, creating ~/.ssh
// (0700) and the file (0600) owned by the user, under the guard of
// reconcilers.Guard: as the user when they own their home, so nothing they
// planted there leads the write elsewhere. The home directory is looked up
// when the action runs: the user may be created in the same cycle.
func script(user, blob, line string) string {
	setup := "u=" + reconcilers.ShellCommand(user) + "\n" +
		`h=$(getent passwd "$u" | cut -d: -f6)` + "\n" +
		`[ -n "$h" ] || { echo "optimus: user $u does not exist: create it first (a User resource)" >&2; exit 1; }` + "\n" +
		`g=$(id -g -- "$u") || exit 1` + "\n" + `f=$h/.ssh/authorized_keys` + "\n" +
		"export u h g\n"
	// The directory is given to the user last: while the file is written
	// in it, it is still root's (or the body runs as the user already).
	body := `d=$h/.ssh f=$h/.ssh/authorized_keys` + "\n" +
		`[ -d "$d" ] || mkdir -m 0700 -- "$d" || exit 1` + "\n" +
		`[ ! -L "$d" ] && [ ! -L "$f" ] || { echo "optimus: $d or $f is a symbolic link; refusing to follow it" >&2; exit 1; }` + "\n" +
		`[ ! -e "$f" ] || [ -f "$f" ] || { echo "optimus: $f is not a regular file; refusing to touch it" >&2; exit 1; }` + "\n" +
		`s=$f; [ -e "$f" ] || s=/dev/null` + "\n" +
		`t=$(mktemp "$d/.optimus.XXXXXX") || exit 1` + "\n" +
		`trap 'rm -f "$t"' EXIT` + "\n" +
		"O_BLOB=" + reconcilers.ShellCommand(blob) + " O_LINE=" + reconcilers.ShellCommand(line) +
		" awk " + reconcilers.ShellCommand(awkKeys) + ` "$s" >"$t" &&` + "\n" +
		`chmod 600 "$t" && chown "$u:$g" "$t" && mv -fT "$t" "$f" && trap - EXIT || exit 1` + "\n" +
		`chmod 700 "$d" && chown "$u:$g" "$d"` + "\n"
	return reconcilers.GuardCreatingExpr(setup, `"$f"`, `"$u"`, body)
}
