package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/optimus-cm/optimus/test/testhost"
)

// Where each Host resource keeps its files on its container: several Host
// resources share a container, each under a directory of its own.
const (
	srvDir   = "/srv/chaos"
	auditDir = "/var/log/chaos"
)

// fleetHost is one Host resource; many share a container.
type fleetHost struct {
	name  string
	index int // manifest order: the rollout's batches follow it
	th    *testhost.Host
}

func (h fleetHost) dir() string   { return srvDir + "/" + h.name }
func (h fleetHost) conf() string  { return h.dir() + "/conf" }
func (h fleetHost) extra() string { return h.dir() + "/extra" }
func (h fleetHost) audit() string { return auditDir + "/" + h.name + ".audit" }

// attempts is where the File's validate command records each attempt to
// install new content, even one it rejects: a rejected change leaves no
// other trace on the host. (Its time is not date +%s: validate replaces
// every %s with the file's path.)
func (h fleetHost) attempts() string { return auditDir + "/" + h.name + ".attempts" }

// genKind is what a manifest change does.
type genKind string

const (
	genInitial genKind = "initial"
	genContent genKind = "content"      // new content, mode and owner for every host's file
	genAdd     genKind = "add-extra"    // a resource added on every host
	genRemove  genKind = "remove-extra" // and removed again, with prune
	genBad     genKind = "bad"          // content that fails validation on nine hosts of ten
	genFix     genKind = "fix"          // the fix of a bad change
)

// generation is one version of the manifests, as written.
type generation struct {
	n     int
	kind  genKind
	extra bool // the extra File is in the manifests
	at    time.Time
}

func (g generation) name() string { return fmt.Sprintf("g%d", g.n) }

// failsOn says whether a bad generation's content fails validation on h:
// nine hosts of every ten, so that the rollout spends its 30% budget in its
// first two batches (10% then 25% of the hosts) and halts with most hosts
// left.
func (g generation) failsOn(h fleetHost) bool { return g.kind == genBad && h.index%10 != 9 }

// fileState is what the sampler reports of a managed file: one inode's
// content digest, mode and owner, read through one descriptor.
type fileState struct {
	sha     string
	mode    string // octal permission bits
	owner   string
	group   string
	present bool
}

func (s fileState) String() string {
	if !s.present {
		return "absent"
	}
	return fmt.Sprintf("sha=%s mode=%s owner=%s:%s", s.sha, s.mode, s.owner, s.group)
}

// confSpec is what generation g wants for h's conf file.
func (g generation) confSpec(h fleetHost) (content, mode, owner, group string) {
	first := "valid"
	if g.failsOn(h) {
		first = "invalid"
	}
	var b strings.Builder
	b.WriteString(first + "\n")
	// Large enough (~8 KiB) that a write is more than one syscall: a file
	// read half-written shows a digest no generation has.
	for i := range 160 {
		fmt.Fprintf(&b, "%s %s line %03d of the managed configuration\n", g.name(), h.name, i)
	}
	// Generations alternate mode and owner, so a mix of one generation's
	// mode with another's owner or content is visible.
	if g.n%2 == 1 {
		return b.String(), "0640", "root", "root"
	}
	return b.String(), "0604", testhost.Deploy, testhost.Operator
}

func (g generation) extraSpec(h fleetHost) string {
	return fmt.Sprintf("extra %s %s\n", g.name(), h.name)
}

// confState is the state generation g leaves h's conf in; the sampler must
// only ever see states some generation leaves.
func (g generation) confState(h fleetHost) fileState {
	content, mode, owner, group := g.confSpec(h)
	sum := sha256.Sum256([]byte(content))
	return fileState{sha: hex.EncodeToString(sum[:8]), mode: strings.TrimPrefix(mode, "0"), owner: owner, group: group, present: true}
}

func (g generation) extraState(h fleetHost) fileState {
	sum := sha256.Sum256([]byte(g.extraSpec(h)))
	return fileState{sha: hex.EncodeToString(sum[:8]), mode: "600", owner: "root", group: "root", present: true}
}

// manifests writes generation g for every host into each replica's copy of
// the manifest directory, one rename per file, as a git checkout would.
func writeManifests(dirs []string, hosts []fleetHost, g generation, policy bool) error {
	hostsDoc, resDoc := renderHosts(hosts, policy), renderResources(hosts, g)
	for _, dir := range dirs {
		if err := writeAtomic(dir, "hosts.yaml", hostsDoc); err != nil {
			return err
		}
		if err := writeAtomic(dir, "fleet.yaml", resDoc); err != nil {
			return err
		}
	}
	return nil
}

func renderHosts(hosts []fleetHost, policy bool) string {
	var b strings.Builder
	if policy {
		b.WriteString(rolloutPolicy)
	}
	for i, h := range hosts {
		if i > 0 || policy {
			b.WriteString("---\n")
		}
		fmt.Fprintf(&b, `apiVersion: optimus.dev/v1alpha1
kind: Host
metadata:
  name: %s
  labels: {chaos: %s}
spec:
  address: 127.0.0.1
  port: %d
  privateKeyFile: %s
  hostKey: {knownHostsFile: %s}
  connectTimeout: 10s
`, h.name, h.name, h.th.Port, h.th.KeyFile, h.th.KnownHostsFile)
	}
	return b.String()
}

// rolloutPolicy stages every change; its budget (30%) allows one container
// fault's hosts (keep hosts per container under it), not the bad change,
// which fails on nine hosts of ten.
const rolloutPolicy = `apiVersion: optimus.dev/v1alpha1
kind: RolloutPolicy
metadata: {name: chaos}
spec:
  batches: ["10%", "25%"]
  maxFail: "30%"
`

func renderResources(hosts []fleetHost, g generation) string {
	var b strings.Builder
	for i, h := range hosts {
		if i > 0 {
			b.WriteString("---\n")
		}
		content, mode, owner, group := g.confSpec(h)
		fmt.Fprintf(&b, `apiVersion: optimus.dev/v1alpha1
kind: Directory
metadata: {name: dir-%[1]s}
spec:
  hostSelector: {matchLabels: {chaos: %[1]s}}
  path: %[2]s
  mode: "0755"
---
apiVersion: optimus.dev/v1alpha1
kind: File
metadata: {name: conf-%[1]s}
spec:
  hostSelector: {matchLabels: {chaos: %[1]s}}
  path: %[3]s
  mode: "%[4]s"
  owner: %[5]s
  group: %[6]s
  validate: 'echo "%[8]s ${OPTIMUS_REPLICA:-none} ${OPTIMUS_FENCING_TOKEN:-0} $(date -u +%%FT%%T.%%N)" >> %[9]s; head -n 1 %%s | grep -qx valid'
  content: %[7]q
`, h.name, h.dir(), h.conf(), mode, owner, group, content, g.name(), h.attempts())
		restart := "[{kind: File, name: conf-" + h.name + "}]"
		if g.extra {
			fmt.Fprintf(&b, `---
apiVersion: optimus.dev/v1alpha1
kind: File
metadata: {name: extra-%[1]s}
spec:
  hostSelector: {matchLabels: {chaos: %[1]s}}
  path: %[2]s
  mode: "0600"
  content: %[3]q
`, h.name, h.extra(), g.extraSpec(h))
			restart = "[{kind: File, name: conf-" + h.name + "}, {kind: File, name: extra-" + h.name + "}]"
		}
		// The audit record: which generation, replica and token acted, and
		// when by the host's clock. The pause makes two acts at once overlap.
		fmt.Fprintf(&b, `---
apiVersion: optimus.dev/v1alpha1
kind: Exec
metadata: {name: audit-%[1]s}
spec:
  hostSelector: {matchLabels: {chaos: %[1]s}}
  refreshOnly: true
  restartOn: %[2]s
  command: 's=$(date +%%s.%%N); sleep 0.2; echo "%[3]s ${OPTIMUS_REPLICA:-none} ${OPTIMUS_FENCING_TOKEN:-0} $s $(date +%%s.%%N)" >> %[4]s'
`, h.name, restart, g.name(), h.audit())
	}
	return b.String()
}

// writeAtomic replaces dir/name in one rename, so a watching controller
// never reads half a file.
func writeAtomic(dir, name, content string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, name))
}
