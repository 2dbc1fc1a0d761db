package v1alpha1

import (
	"sort"
	"strconv"
	"strings"
)

// HostFacts describe a host as Optimus found it: gathered once per host per
// cycle with the other reads, shown by `optimus facts`, seen by File
// templates as .Facts and matched by hostSelector.matchFacts.
type HostFacts struct {
	// OS is the operating system, from /etc/os-release.
	OS OSFacts `json:"os"`
	// Arch is the machine architecture as uname -m prints it: x86_64, aarch64.
	Arch string `json:"arch"`
	// Kernel is the kernel release (uname -r).
	Kernel string `json:"kernel"`
	// CPUs is the number of processors available (nproc).
	CPUs int `json:"cpus"`
	// MemoryMB is the total memory in MiB (MemTotal of /proc/meminfo).
	MemoryMB int `json:"memoryMB"`
	// Hostname is the running kernel's host name.
	Hostname string `json:"hostname"`
	// Interfaces are the network interfaces other than loopback, by name,
	// with their IPv4 and IPv6 addresses.
	Interfaces []InterfaceFacts `json:"interfaces,omitempty"`
	// Addresses are every non-loopback address of the host (hostname -I).
	Addresses []string `json:"addresses,omitempty"`
}

// OSFacts identify the operating system (os-release(5)).
type OSFacts struct {
	// ID is the distribution's id: debian, ubuntu, alpine, fedora.
	ID string `json:"id"`
	// VersionID is its version: "12", "3.20".
	VersionID string `json:"versionId"`
	// Name is the distribution's name: "Debian GNU/Linux".
	Name string `json:"name"`
	// PrettyName is the name with the version: "Debian GNU/Linux 12 (bookworm)".
	PrettyName string `json:"prettyName"`
	// IDLike lists the distributions it derives from: [debian].
	IDLike []string `json:"idLike,omitempty"`
}

// osFamilies name the family of a distribution the way Ansible's
// ansible_os_family does, so that imported conditions keep their meaning.
var osFamilies = map[string]string{
	"debian": "Debian", "ubuntu": "Debian", "raspbian": "Debian", "linuxmint": "Debian", "pop": "Debian", "kali": "Debian",
	"rhel": "RedHat", "centos": "RedHat", "fedora": "RedHat", "rocky": "RedHat", "almalinux": "RedHat", "ol": "RedHat", "amzn": "RedHat",
	"sles": "Suse", "opensuse": "Suse", "opensuse-leap": "Suse", "opensuse-tumbleweed": "Suse", "suse": "Suse",
	"alpine": "Alpine", "arch": "Archlinux", "manjaro": "Archlinux", "gentoo": "Gentoo", "freebsd": "FreeBSD",
}

// Family is the distribution's family (os.family): Debian for debian and
// ubuntu, RedHat for rhel, centos, fedora, rocky, Suse, Alpine, Archlinux;
// a distribution Optimus does not know takes the family of the first
// distribution of its ID_LIKE it knows, or its own ID.
func (o OSFacts) Family() string {
	for _, id := range append([]string{o.ID}, o.IDLike...) {
		if f, ok := osFamilies[id]; ok {
			return f
		}
	}
	return o.ID
}

// InterfaceFacts are one network interface and its addresses.
type InterfaceFacts struct {
	// Name of the interface: eth0.
	Name string `json:"name"`
	// Addresses without prefix length: 172.17.0.2.
	Addresses []string `json:"addresses,omitempty"`
}

// factKeys are the keys matchFacts accepts, with how to read them.
var factKeys = map[string]func(f *HostFacts) string{
	"os.id":        func(f *HostFacts) string { return f.OS.ID },
	"os.versionId": func(f *HostFacts) string { return f.OS.VersionID },
	"os.name":      func(f *HostFacts) string { return f.OS.Name },
	"os.idLike":    func(f *HostFacts) string { return strings.Join(f.OS.IDLike, " ") },
	"os.family":    func(f *HostFacts) string { return f.OS.Family() },
	"arch":         func(f *HostFacts) string { return f.Arch },
	"kernel":       func(f *HostFacts) string { return f.Kernel },
	"cpus":         func(f *HostFacts) string { return strconv.Itoa(f.CPUs) },
	"memoryMB":     func(f *HostFacts) string { return strconv.Itoa(f.MemoryMB) },
	"hostname":     func(f *HostFacts) string { return f.Hostname },
}

// FactKeys lists the keys hostSelector.matchFacts accepts, sorted.
func FactKeys() []string {
	keys := make([]string, 0, len(factKeys))
	for k := range factKeys {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Fact returns the value of key ("os.id", "cpus"), false for an unknown key.
func (f *HostFacts) Fact(key string) (string, bool) {
	get, ok := factKeys[key]
	if !ok || f == nil {
		return "", ok
	}
	return get(f), true
}
