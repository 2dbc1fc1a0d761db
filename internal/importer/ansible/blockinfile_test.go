package ansible

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

// TestImportBlockInFile: blockinfile becomes BlockInFile with Ansible's
// marker (so a block Ansible wrote is found again), its insertion point,
// create, state, validate, owner, group and mode; lineinfile keeps what it
// now has an equivalent for. What has none is reported.
func TestImportBlockInFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "tasks"), 0o755); err != nil {
		t.Fatal(err)
	}
	tasks := `- blockinfile:
    path: /etc/ssh/sshd_config
    block: |
      Match User backup
        ForceCommand internal-sftp
    insertbefore: '^Subsystem'
    validate: /usr/sbin/sshd -t -f %s
    owner: root
    group: root
    mode: "0600"
- blockinfile:
    dest: /etc/app.xml
    marker: "<!-- {mark} app -->"
    marker_begin: START
    marker_end: STOP
    block: "<a/>"
    insertafter: EOF
    create: yes
- blockinfile: {path: /etc/old, state: absent}
- blockinfile: {path: /etc/empty, block: ""}
- blockinfile: {path: /etc/x, block: a, append_newline: true}
- lineinfile: {path: /etc/sudoers, line: "%admin ALL=(ALL) ALL", regexp: "^%admin", validate: "visudo -cf %s", insertbefore: BOF, create: true, mode: "0440"}
`
	if err := os.WriteFile(filepath.Join(dir, "tasks", "main.yml"), []byte(tasks), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := ImportRole(dir)
	if err != nil {
		t.Fatal(err)
	}
	set, text := load(t, res)
	var blocks []*v1alpha1.BlockInFileSpec
	var lines []*v1alpha1.LineInFileSpec
	for _, r := range set.Resources {
		switch s := r.Spec.(type) {
		case *v1alpha1.BlockInFileSpec:
			blocks = append(blocks, s)
		case *v1alpha1.LineInFileSpec:
			lines = append(lines, s)
		}
	}
	strip := func(s v1alpha1.BlockInFileSpec) v1alpha1.BlockInFileSpec {
		s.Targeting = v1alpha1.Targeting{}
		return s
	}
	want := []v1alpha1.BlockInFileSpec{
		{Path: "/etc/ssh/sshd_config", Block: "Match User backup\n  ForceCommand internal-sftp\n", Marker: ansibleMarker,
			MarkerBegin: "BEGIN", MarkerEnd: "END", InsertBefore: "^Subsystem", State: "present",
			Validate: "/usr/sbin/sshd -t -f %s", Owner: "root", Group: "root", Mode: "0600"},
		{Path: "/etc/app.xml", Block: "<a/>", Marker: "<!-- {mark} app -->", MarkerBegin: "START", MarkerEnd: "STOP", State: "present", Create: true},
		{Path: "/etc/old", Marker: ansibleMarker, MarkerBegin: "BEGIN", MarkerEnd: "END", State: "absent"},
		{Path: "/etc/empty", Marker: ansibleMarker, MarkerBegin: "BEGIN", MarkerEnd: "END", State: "absent"},
	}
	if len(blocks) != len(want) {
		t.Fatalf("%d BlockInFile resources, want %d:\n%s", len(blocks), len(want), text)
	}
	for i := range want {
		if got := strip(*blocks[i]); !reflect.DeepEqual(got, want[i]) {
			t.Errorf("BlockInFile %d:\n got %+v\nwant %+v", i, got, want[i])
		}
	}
	if len(lines) != 1 {
		t.Fatalf("%d LineInFile resources:\n%s", len(lines), text)
	}
	if l := lines[0]; l.Validate != "visudo -cf %s" || l.InsertBefore != "BOF" || !l.Create || l.Mode != "0440" || l.Regexp != "^%admin" {
		t.Errorf("LineInFile: %+v", l)
	}
	var why []string
	for _, s := range res.Skipped() {
		why = append(why, fmt.Sprintf("%d %s", s.Pos.Line, s.Why))
	}
	if w := []string{"21 blockinfile: append_newline has no Optimus equivalent: put the blank line in the block"}; !reflect.DeepEqual(why, w) {
		t.Errorf("skipped %q, want %q", why, w)
	}
}
