package controller

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/transport"
)

// InventoryDir is where a host keeps, per manifest set, what Optimus applied
// to it: root-only, so every operator's machine and the controller read the
// same truth from the host itself.
const InventoryDir = "/var/lib/optimus"

// Inventory makes the engine keep, on each host, the list of resources a
// manifest set holds there and the restarts still owed to it. The list is
// read with the other observe queries (same round trip, read-only) and
// written as the first command of the act batch, before anything it
// describes changes.
type Inventory struct {
	// Set names the manifest set; each set has its own file on the host.
	Set string
	// Prune plans the removal of recorded resources that left the
	// manifests. Without it they are only listed (Report.Prune).
	Prune bool
	// Absent builds the resource that removes a recorded one through its
	// kind's own absent state, from the kind, name and recorded spec; false
	// when the kind has no absent state (the resource is then forgotten).
	// SchemeAbsent is the usual implementation.
	Absent func(kind, name string, spec json.RawMessage) (*v1alpha1.Resource, bool)
}

var setName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}$`)

// CheckSetName refuses a set name that cannot be a file name under
// InventoryDir.
func CheckSetName(name string) error {
	if !setName.MatchString(name) {
		return fmt.Errorf("set name %q: use letters, digits, '.', '_' and '-' (at most 100, not starting with '.' or '-')", name)
	}
	return nil
}

// InventoryPath is the file that holds set's inventory for the Host named
// host. It is one file per set and Host resource, not per machine: Host
// resources that reach the same machine (test fleets, a machine managed
// under two names) keep their own inventories instead of overwriting, and
// pruning, each other's.
func InventoryPath(set, host string) string {
	return InventoryDir + "/" + set + "@" + host + ".inventory"
}

// OpForget drops a resource from the inventory and leaves it on the host.
const OpForget reconcilers.Op = "forget"

// inventoryHeader starts every inventory file; the version lets a later
// format be told apart.
const inventoryHeader = "# optimus inventory v1: written by Optimus, do not edit"

// entry is one resource a set holds on a host.
type invEntry struct {
	Ref v1alpha1.ResourceRef
	// Adopted: the resource was already there when Optimus first managed it.
	Adopted bool
	// Spec is what removing it takes (see recordSpec).
	Spec json.RawMessage
}

// inventory is a parsed inventory file.
type inventory struct {
	entries []invEntry // in dependency order, as last applied
	byRef   map[v1alpha1.ResourceRef]int
	pending map[v1alpha1.ResourceRef]bool
}

func newInventory() *inventory {
	return &inventory{byRef: map[v1alpha1.ResourceRef]int{}, pending: map[v1alpha1.ResourceRef]bool{}}
}

// inventoryQuery prints the inventory file, nothing when there is none. An
// inventory says what to remove, so one that anyone but root could have
// written is refused rather than believed.
func inventoryQuery(path string) reconcilers.Query {
	return reconcilers.Query{Key: "optimus.inventory", Script: "d=" + reconcilers.ShellCommand(InventoryDir) +
		" f=" + reconcilers.ShellCommand(path) + `
[ -e "$f" ] || [ -L "$f" ] || exit 0
if [ "$(stat -c '%u %a %F' -- "$d" "$f" 2>&1)" != "0 700 directory
0 600 regular file" ]; then
	echo "$f or $d is not as Optimus writes them (owned by root, 0700 directory, 0600 regular file): refusing to trust it; check who changed it, then remove it to start a new inventory" >&2
	exit 1
fi
# The shell reads it (no process to start): inventories are small.
while IFS= read -r l || [ -n "$l" ]; do printf '%s\n' "$l"; done <"$f"
`}
}

// parseInventory reads an inventory file; an empty one is an empty inventory.
// It runs on every observe of every host: lines and fields are cut in
// place, and the entries sized by a first count of the lines.
func parseInventory(path, text string) (*inventory, error) {
	lines := strings.Count(text, "\n") + 1
	inv := &inventory{byRef: make(map[v1alpha1.ResourceRef]int, lines), entries: make([]invEntry, 0, lines), pending: map[v1alpha1.ResourceRef]bool{}}
	var fields [6]string
	for i := 0; text != ""; i++ {
		var line string
		line, text, _ = strings.Cut(text, "\n")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := splitTabs(line, &fields)
		bad := func() (*inventory, error) {
			return nil, fmt.Errorf("inventory %s line %d is not understood: move the file aside to start a new inventory (pruning then forgets what it listed)", path, i+1)
		}
		switch {
		case f[0] == "resource" && len(f) == 5 && f[1] != "" && f[2] != "" && json.Valid([]byte(f[4])):
			ref := v1alpha1.ResourceRef{Kind: f[1], Name: f[2]}
			if _, dup := inv.byRef[ref]; dup {
				continue
			}
			inv.byRef[ref] = len(inv.entries)
			inv.entries = append(inv.entries, invEntry{Ref: ref, Adopted: f[3] == "adopted", Spec: json.RawMessage(f[4])})
		case f[0] == "pending" && len(f) == 3 && f[1] != "" && f[2] != "":
			inv.pending[v1alpha1.ResourceRef{Kind: f[1], Name: f[2]}] = true
		default:
			return bad()
		}
	}
	return inv, nil
}

// splitTabs cuts line at its tabs into fields, without allocating; a line
// with more fields than fields holds ends with its rest in the last one.
func splitTabs(line string, fields *[6]string) []string {
	n := 0
	for ; n < len(fields)-1; n++ {
		var found bool
		if fields[n], line, found = strings.Cut(line, "\t"); !found {
			return fields[:n+1]
		}
	}
	fields[n] = line
	return fields[:n+1]
}

// format writes the inventory as the file holds it: one line per resource,
// then one per pending refresh, tab-separated (names and kinds hold no tab;
// JSON escapes control characters).
func (inv *inventory) format(pendingOrder []v1alpha1.ResourceRef) []byte {
	var b bytes.Buffer
	b.WriteString(inventoryHeader + "\n")
	for _, e := range inv.entries {
		state := "managed"
		if e.Adopted {
			state = "adopted"
		}
		fmt.Fprintf(&b, "resource\t%s\t%s\t%s\t%s\n", e.Ref.Kind, e.Ref.Name, state, e.Spec)
	}
	for _, ref := range pendingOrder {
		fmt.Fprintf(&b, "pending\t%s\t%s\n", ref.Kind, ref.Name)
	}
	return b.Bytes()
}

// recordSpec keeps of a spec what removing the resource takes: its
// top-level scalar fields and lists of scalars (path, name, names, force,
// removeHome, ...). Nested objects (selectors, secret sources) and the
// bulky or operator-side fields content and source are left out, so the
// inventory holds no file content and no reference to a secret. Nil when
// the resource is declared absent: the set does not hold it.
func recordSpec(res *v1alpha1.Resource) (json.RawMessage, bool) {
	raw, err := json.Marshal(res.Spec)
	if err != nil {
		return nil, false
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil {
		return nil, false
	}
	out := map[string]json.RawMessage{}
	for k, v := range fields {
		switch k {
		case "content", "source", "state", "hostSelector", "dependsOn", "restartOn":
			continue
		}
		if scalarOrScalars(v) {
			out[k] = v
		}
	}
	if s, ok := fields["state"]; ok && string(s) == `"`+v1alpha1.StateAbsent+`"` {
		return nil, false
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, false
	}
	return b, true
}

func scalarOrScalars(v json.RawMessage) bool {
	t := bytes.TrimSpace(v)
	if len(t) == 0 {
		return false
	}
	switch t[0] {
	case '{':
		return false
	case '[':
		var items []json.RawMessage
		if json.Unmarshal(t, &items) != nil {
			return false
		}
		for _, it := range items {
			if it := bytes.TrimSpace(it); len(it) == 0 || it[0] == '{' || it[0] == '[' {
				return false
			}
		}
	}
	return true
}

// SchemeAbsent builds absent resources for Inventory.Absent from the kinds
// of scheme: the recorded spec with state absent, decoded strictly into
// the kind's spec type and validated. A kind whose spec has no state field,
// or whose state cannot be absent (Exec, Service), has no absent state.
func SchemeAbsent(scheme *v1alpha1.Scheme) func(kind, name string, spec json.RawMessage) (*v1alpha1.Resource, bool) {
	validate := v1alpha1.NewValidator()
	return func(kind, name string, spec json.RawMessage) (*v1alpha1.Resource, bool) {
		kt, ok := scheme.Lookup(kind)
		if !ok || kt.NewSpec == nil {
			return nil, false
		}
		var fields map[string]json.RawMessage
		if json.Unmarshal(spec, &fields) != nil {
			return nil, false
		}
		fields["state"] = json.RawMessage(`"` + v1alpha1.StateAbsent + `"`)
		raw, _ := json.Marshal(fields)
		s := kt.NewSpec()
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if dec.Decode(s) != nil {
			return nil, false
		}
		meta := v1alpha1.ObjectMeta{Name: name}
		if d, ok := s.(v1alpha1.Defaulter); ok {
			d.Default(&meta)
		}
		if validate.Struct(s) != nil {
			return nil, false
		}
		return &v1alpha1.Resource{TypeMeta: v1alpha1.TypeMeta{APIVersion: kt.APIVersion, Kind: kind}, Metadata: meta, Spec: s,
			Origin: v1alpha1.Origin{File: InventoryPath("<set>", "<host>")}}, true
	}
}

// inventoryWrite is the first command of an act batch: the inventory as it
// will be once the batch ran, except that resources being pruned or
// forgotten and restarts being run are still listed; the commands after
// them take them off (removeLine), so a batch cut short leaves them there.
func inventoryWrite(r *hostRun) transport.Command {
	old := r.inv.file
	if old == nil {
		old = newInventory()
	}
	created := map[v1alpha1.ResourceRef]bool{}
	planned := map[v1alpha1.ResourceRef]bool{}
	refreshing := map[v1alpha1.ResourceRef]bool{}
	for _, pa := range r.plan {
		if pa.Status == StatusFailed && pa.Description == "plan" {
			continue
		}
		planned[pa.Resource] = true
		// Optimus brings it into being: it was not there before.
		if pa.Op == reconcilers.OpCreate || pa.Op == reconcilers.OpRun {
			created[pa.Resource] = true
		}
		if pa.refresh {
			refreshing[pa.Resource] = true
		}
	}
	failedPlan := map[v1alpha1.ResourceRef]bool{}
	for _, pa := range r.plan {
		if pa.Status == StatusFailed && pa.Description == "plan" {
			failedPlan[pa.Resource] = true
		}
	}
	next := newInventory()
	add := func(e invEntry) {
		next.byRef[e.Ref] = len(next.entries)
		next.entries = append(next.entries, e)
	}
	current := map[v1alpha1.ResourceRef]bool{}
	for _, res := range r.resources {
		ref := res.Ref()
		current[ref] = true
		spec, held := recordSpec(res)
		i, known := old.byRef[ref]
		switch {
		case !held:
			// Declared absent: the set no longer holds it.
		case known && failedPlan[ref]:
			add(old.entries[i])
		case known:
			add(invEntry{Ref: ref, Adopted: old.entries[i].Adopted, Spec: spec})
		case !failedPlan[ref]:
			add(invEntry{Ref: ref, Adopted: !created[ref], Spec: spec})
		}
	}
	for _, en := range old.entries {
		if !current[en.Ref] {
			add(en)
		}
	}
	var pending []v1alpha1.ResourceRef
	for _, res := range r.resources {
		if ref := res.Ref(); old.pending[ref] || refreshing[ref] {
			pending = append(pending, ref)
		}
	}
	dir := reconcilers.ShellCommand(InventoryDir)
	file := reconcilers.ShellCommand(r.inv.path)
	script := "d=" + dir + "; f=" + file + `
if [ -L "$d" ] || { [ -e "$d" ] && [ ! -d "$d" ]; }; then echo "$d is not a directory: refusing to write the inventory" >&2; exit 1; fi
umask 077
mkdir -p "$d" && [ "$(stat -c %u "$d")" = 0 ] && chmod 0700 "$d" && rm -f "$f.tmp" && cat >"$f.tmp" && chmod 0600 "$f.tmp" && mv -f "$f.tmp" "$f" ||
{ echo "cannot write $f: the set's inventory is kept there, in a directory owned by root; connect as root or with become" >&2; exit 1; }
`
	return transport.Command{Script: script, Stdin: next.format(pending)}
}

// removeLine takes one line of the inventory off: a resource (what =
// "resource") once it was pruned or forgotten, a pending refresh once it ran.
func removeLine(path, what string, ref v1alpha1.ResourceRef) string {
	return "f=" + reconcilers.ShellCommand(path) + `
[ -f "$f" ] || exit 0
umask 077
T=` + reconcilers.ShellCommand(what) + " K=" + reconcilers.ShellCommand(ref.Kind) + " N=" + reconcilers.ShellCommand(ref.Name) +
		` awk -F '\t' '!($1 == ENVIRON["T"] && $2 == ENVIRON["K"] && $3 == ENVIRON["N"])' "$f" >"$f.tmp" && mv -f "$f.tmp" "$f"
`
}

// withInventory wraps an act batch: the inventory write first, every action
// after it (an inventory that cannot be written changes nothing), and after
// the actions the commands that drop what they made obsolete: the line of a
// pruned resource once its removal succeeded, a pending refresh once every
// action of its resource succeeded. post is the number of those.
func withInventory(r *hostRun, cmds []transport.Command, slot []int) (_ []transport.Command, _ []int, post int) {
	out := make([]transport.Command, 0, len(cmds)+2)
	out = append(out, inventoryWrite(r))
	for _, c := range cmds {
		after := make([]int, 0, len(c.After)+1)
		after = append(after, 0)
		for _, a := range c.After {
			after = append(after, a+1)
		}
		c.After = after
		out = append(out, c)
	}
	shifted := make([]int, len(slot))
	for i, s := range slot {
		shifted[i] = s
		if s >= 0 {
			shifted[i] = s + 1
		}
	}
	// A refresh sent alone in its command clears its own pending line as
	// it starts (see clearingPending); the others are cleared after.
	alone := map[int]int{}
	for _, s := range shifted {
		if s >= 0 {
			alone[s]++
		}
	}
	self := map[v1alpha1.ResourceRef]bool{}
	for i, pa := range r.plan {
		if s := shifted[i]; s >= 0 && pa.refresh && alone[s] == 1 && !self[pa.Resource] {
			out[s].Script = clearingPending(r.inv.path, pa.Resource, out[s].Script)
			self[pa.Resource] = true
		}
	}
	cleanups := inventoryCleanups(r, shifted, self)
	return append(out, cleanups...), shifted, len(cleanups)
}

// clearingPending wraps the script of ref's refresh so that it clears the
// refresh's pending line just before it runs and records it again if it
// fails. A restart that cuts the connection it came by (sshd restarting
// where it is the container's main process, or killing the sessions) has
// then cleared its line, and the next run does not restart it, and lose
// the connection, again; a restart that fails while its connection is
// alive stays pending. Only a restart that fails just as the connection
// drops can be lost that way.
func clearingPending(path string, ref v1alpha1.ResourceRef, script string) string {
	return "( " + removeLine(path, "pending", ref) + ") || exit 1\n" +
		"(eval " + transport.Quote(script) + "\n); _oq=$?\n" +
		"f=" + reconcilers.ShellCommand(path) + "\n" +
		`[ "$_oq" = 0 ] || { [ ! -f "$f" ] || printf 'pending\t%s\t%s\n' ` + reconcilers.ShellCommand(ref.Kind, ref.Name) + ` >>"$f"; }` + "\n" +
		"exit $_oq\n"
}

// inventoryCleanups are the inventory's commands that follow a batch:
// for each resource pruned, or owing a refresh, that has a command in the
// batch, the line that records it is removed once all its commands
// succeeded. slot maps each planned action to its command, -1 for none;
// self holds the refreshes that clear their own line.
func inventoryCleanups(r *hostRun, slot []int, self map[v1alpha1.ResourceRef]bool) []transport.Command {
	bySlot := map[v1alpha1.ResourceRef][]int{}
	var order []v1alpha1.ResourceRef
	for i, s := range slot {
		if s < 0 {
			continue
		}
		ref := r.plan[i].Resource
		if _, ok := bySlot[ref]; !ok {
			order = append(order, ref)
		}
		bySlot[ref] = append(bySlot[ref], s)
	}
	pruned, refreshing := map[v1alpha1.ResourceRef]bool{}, map[v1alpha1.ResourceRef]bool{}
	for _, pa := range r.plan {
		if pa.Pruned && pa.Op != OpForget {
			pruned[pa.Resource] = true
		}
		if pa.refresh || r.inv.file.pending[pa.Resource] {
			refreshing[pa.Resource] = true
		}
	}
	var out []transport.Command
	for _, ref := range order {
		switch {
		case pruned[ref]:
			out = append(out, transport.Command{Script: removeLine(r.inv.path, "resource", ref), After: bySlot[ref]})
		case refreshing[ref] && !self[ref]:
			out = append(out, transport.Command{Script: removeLine(r.inv.path, "pending", ref), After: bySlot[ref]})
		}
	}
	return out
}
