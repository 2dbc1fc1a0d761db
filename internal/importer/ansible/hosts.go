package ansible

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

// GroupLabelPrefix is the label that marks a host's Ansible groups:
// groups.optimus.dev/web: "true". Jinja2 templates see these as group_names.
const GroupLabelPrefix = v1alpha1.GroupLabelPrefix

var (
	secretVarRe  = regexp.MustCompile(`(?i)(passw(or)?d|secret|token|private_key$|api_?key)`)
	resourceName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)
	labelName    = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$`)
	hostAddress  = regexp.MustCompile(`^([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$|^[0-9a-fA-F:.]+$`)
	envNameClean = regexp.MustCompile(`[^A-Z0-9]+`)
	// -o UserKnownHostsFile=PATH in Ansible's ssh arguments.
	knownHostsArg = regexp.MustCompile(`-o\s*UserKnownHostsFile=(\S+)`)
	sshCheckArg   = regexp.MustCompile(`-o\s*StrictHostKeyChecking=\S+`)
)

// ImportInventory converts every host of the inventory at path into a Host.
func ImportInventory(path string) (*Result, error) {
	inv, err := LoadInventory(path)
	if err != nil {
		return nil, err
	}
	f := &File{Name: "hosts.yaml", Header: []string{
		"Hosts from the Ansible inventory " + path + ".",
		"Each Ansible group the host is in is a label " + GroupLabelPrefix + "GROUP: \"true\".",
	}}
	res := &Result{Files: []*File{f}}
	for _, name := range inv.HostNames() {
		r, skipped := convertHost(inv, name)
		f.Skipped = append(f.Skipped, skipped...)
		if r != nil {
			f.Resources = append(f.Resources, r)
			res.converted("host")
		}
	}
	return res, nil
}

// convertHost makes the Host for one inventory host.
func convertHost(inv *Inventory, name string) (*Resource, []Skipped) {
	h := inv.Hosts[name]
	vars := inv.VarsOf(name)
	var skipped []Skipped
	var notes []string
	rname := strings.ToLower(name)
	if !resourceName.MatchString(rname) {
		return nil, []Skipped{{Unit: "host", Pos: h.Pos, What: "host " + name, Why: "its name cannot be an Optimus resource name (lower-case letters, digits, '.', '-', '_'): rename it in the inventory"}}
	}
	if rname != name {
		notes = append(notes, fmt.Sprintf("inventory name %s, lower-cased", name))
	}
	r := &Resource{Kind: "Host", Name: rname, Labels: map[string]string{}, Spec: map[string]any{},
		Comments: []string{"from " + h.Pos.String()}}
	for _, g := range inv.GroupsOf(name) {
		if !labelName.MatchString(g) {
			notes = append(notes, fmt.Sprintf("group %s is not a valid label name and was left out of the labels", g))
			continue
		}
		r.Labels[GroupLabelPrefix+g] = "true"
	}
	spec := r.Spec
	take := func(keys ...string) (Var, bool) {
		var found Var
		ok := false
		for _, k := range keys {
			if v, has := vars[k]; has {
				if !ok {
					found, ok = v, true
				}
				delete(vars, k)
			}
		}
		return found, ok
	}
	str := func(v Var) string { return fmt.Sprint(v.Value) }

	secretRef := func(what string, v Var) map[string]any {
		env := "OPTIMUS_" + envNameClean.ReplaceAllString(strings.ToUpper(rname+"_"+what), "_")
		how := "in clear"
		if v.Vault {
			how = "vault-encrypted"
		}
		notes = append(notes, fmt.Sprintf("%s was %s at %s: set the environment variable %s to it (or use {file: PATH})", what, how, v.Pos, env))
		return map[string]any{"env": env}
	}

	connection := "ssh"
	if v, ok := take("ansible_connection"); ok {
		connection = str(v)
	}
	address := name
	if v, ok := take("ansible_host", "ansible_ssh_host"); ok {
		address = str(v)
	}
	switch connection {
	case "ssh", "paramiko", "smart":
		if !hostAddress.MatchString(address) {
			skipped = append(skipped, Skipped{Unit: "host", Pos: h.Pos, What: "host " + name, Why: fmt.Sprintf("address %q is neither a DNS name nor an IP address: set ansible_host", address)})
			return nil, skipped
		}
		spec["address"] = address
	case "local":
		spec["transport"] = "local"
	case "docker", "community.docker.docker":
		spec["transport"] = "docker"
		spec["container"] = address
	default:
		skipped = append(skipped, Skipped{Unit: "host", Pos: h.Pos, What: "host " + name, Why: fmt.Sprintf("ansible_connection %s has no Optimus transport (ssh, local, docker)", connection)})
		return nil, skipped
	}
	if v, ok := take("ansible_port", "ansible_ssh_port"); ok {
		if p, isInt := v.Value.(int); isInt {
			spec["port"] = p
		} else {
			notes = append(notes, fmt.Sprintf("ansible_port %v at %s is not a number; left out", v.Value, v.Pos))
		}
	}
	if v, ok := take("ansible_user", "ansible_ssh_user"); ok {
		spec["user"] = str(v)
	}
	if v, ok := take("ansible_ssh_private_key_file", "ansible_private_key_file"); ok {
		spec["privateKeyFile"] = str(v)
		notes = append(notes, "privateKeyFile is relative to this manifest's directory in Optimus (Ansible: to where it runs)")
	}
	if v, ok := take("ansible_password", "ansible_ssh_pass", "ansible_ssh_password"); ok {
		spec["passwordFrom"] = secretRef("ssh password", v)
	}
	become := map[string]any{}
	if v, ok := take("ansible_become", "ansible_sudo"); ok && truthy(v.Value) {
		become["method"] = "sudo"
	}
	if v, ok := take("ansible_become_method"); ok && str(v) != "sudo" {
		notes = append(notes, fmt.Sprintf("ansible_become_method %s at %s: Optimus becomes only with sudo", str(v), v.Pos))
	}
	if v, ok := take("ansible_become_user", "ansible_sudo_user"); ok && len(become) > 0 {
		become["user"] = str(v)
	}
	if v, ok := take("ansible_become_password", "ansible_become_pass", "ansible_sudo_pass"); ok && len(become) > 0 {
		become["passwordFrom"] = secretRef("become password", v)
	}
	if len(become) > 0 {
		spec["become"] = become
	}
	if v, ok := take("ansible_ssh_common_args", "ansible_ssh_extra_args"); ok {
		if m := knownHostsArg.FindStringSubmatch(str(v)); m != nil {
			spec["hostKey"] = map[string]any{"knownHostsFile": m[1]}
		}
		if strings.Contains(str(v), "StrictHostKeyChecking=no") {
			notes = append(notes, "Ansible did not check this host's key (StrictHostKeyChecking=no); Optimus does: add it to known_hosts, or set hostKey.policy: accept-new")
		}
		if rest := strings.TrimSpace(knownHostsArg.ReplaceAllString(sshCheckArg.ReplaceAllString(str(v), ""), "")); rest != "" {
			notes = append(notes, fmt.Sprintf("ssh options %q at %s are not converted", rest, v.Pos))
		}
	}
	// Whatever is left of Ansible's own variables concerns Ansible only.
	var ansibleOnly []string
	for k := range vars {
		if strings.HasPrefix(k, "ansible_") {
			ansibleOnly = append(ansibleOnly, k)
			delete(vars, k)
		}
	}
	sort.Strings(ansibleOnly)
	if len(ansibleOnly) > 0 {
		notes = append(notes, "left out, Ansible's own: "+strings.Join(ansibleOnly, ", "))
	}
	out := map[string]any{}
	for _, k := range sortedKeys(vars) {
		v := vars[k]
		if v.Vault || (secretVarRe.MatchString(k) && v.Value != nil && fmt.Sprint(v.Value) != "") {
			how := "in clear"
			if v.Vault {
				how = "vault-encrypted"
			}
			notes = append(notes, fmt.Sprintf("var %s (%s at %s) is a secret and is not written: pass it where a field takes a secret source ({env: NAME} or {file: PATH}: passwordFrom, passwordHashFrom, envFrom)", k, how, v.Pos))
			continue
		}
		out[k] = v.Value
	}
	if len(out) > 0 {
		spec["vars"] = out
	}
	for _, n := range notes {
		r.Comments = append(r.Comments, "note: "+n)
	}
	if len(r.Labels) == 0 {
		r.Labels = nil
	}
	return r, skipped
}

func truthy(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case int:
		return v != 0
	case string:
		switch strings.ToLower(v) {
		case "yes", "true", "on", "1", "y":
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
