package ansible

import (
	"strings"
	"testing"
)

// FuzzParseInventory feeds arbitrary text to both inventory parsers: they
// return an error or an inventory whose variables and groups can be
// merged, and never panic or run away with a range.
func FuzzParseInventory(f *testing.F) {
	f.Add("[web]\nweb[01:03] ansible_port=22 x='a b'\n[web:vars]\nk=v\n[all:children]\nweb\n")
	f.Add("all:\n  hosts:\n    a[1:2]:\n      v: 1\n  children:\n    g: {hosts: {b: }}\n")
	f.Add("h[a:c]-[1:3:2]\n")
	f.Fuzz(func(t *testing.T, text string) {
		if strings.Count(text, "[") > 6 {
			return // nested ranges multiply; a few are enough to explore
		}
		for _, parse := range []func(*Inventory, string, []byte) error{(*Inventory).parseINI, (*Inventory).parseYAML} {
			inv := newInventory()
			if err := parse(inv, "fuzz", []byte(text)); err != nil {
				continue
			}
			for name := range inv.Hosts {
				_ = inv.VarsOf(name)
				_ = inv.GroupsOf(name)
			}
		}
	})
}
