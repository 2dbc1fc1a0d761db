// Package ansible converts Ansible inventories, playbooks and roles into
// Optimus manifests: inventory hosts become Hosts (groups as labels,
// variables as vars, secrets as references), and the tasks of the modules
// most roles use become resources of the matching kinds. What it cannot
// convert is never dropped: it is reported with its file:line and kept in
// the output as a commented placeholder.
package ansible
