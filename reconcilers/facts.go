package reconcilers

import (
	"bufio"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

// FactsKey is the Key of QueryFacts.
const FactsKey = "facts"

// QueryFacts gathers the host's facts (v1alpha1.HostFacts) read-only, in
// sections ParseHostFacts reads. Every kind that needs facts, and the
// engine for hostSelector.matchFacts, use this value, so the facts are read
// once per host per cycle with the other queries.
var QueryFacts = Query{Key: FactsKey, Script: `LC_ALL=C; export LC_ALL
echo @os-release; f=/etc/os-release; [ -e $f ] || f=/usr/lib/os-release; head -c 1048576 $f 2>/dev/null; echo
echo @uname; uname -n -r -m
echo @cpus; nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || grep -c ^processor /proc/cpuinfo
echo @meminfo; grep '^MemTotal:' /proc/meminfo
echo @addresses; hostname -I 2>/dev/null
echo @interfaces; ls /sys/class/net 2>/dev/null
if command -v ip >/dev/null 2>&1; then echo @ip; ip -o addr show 2>/dev/null; else echo @inet6; cat /proc/net/if_inet6 2>/dev/null; fi
exit 0
`}

// HostFactsOf returns the host's facts from f, parsed once per cycle; the
// caller must have declared QueryFacts.
func HostFactsOf(f *Facts) (*v1alpha1.HostFacts, error) {
	return Parsed(f, FactsKey, ParseHostFacts)
}

// ParseHostFacts reads the output of QueryFacts.
func ParseHostFacts(out string) (*v1alpha1.HostFacts, error) {
	hf := &v1alpha1.HostFacts{}
	sections := map[string][]string{}
	section := ""
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if name, ok := strings.CutPrefix(line, "@"); ok && !strings.ContainsAny(name, " \t") {
			section = name
			continue
		}
		sections[section] = append(sections[section], line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("facts: %w", err)
	}
	for _, line := range sections["os-release"] {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		if uq, err := strconv.Unquote(v); err == nil {
			v = uq
		} else {
			v = strings.Trim(v, `'"`)
		}
		switch k {
		case "ID":
			hf.OS.ID = v
		case "VERSION_ID":
			hf.OS.VersionID = v
		case "NAME":
			hf.OS.Name = v
		case "PRETTY_NAME":
			hf.OS.PrettyName = v
		case "ID_LIKE":
			hf.OS.IDLike = strings.Fields(v)
		}
	}
	first := func(name string) string {
		if l := sections[name]; len(l) > 0 {
			return strings.TrimSpace(l[0])
		}
		return ""
	}
	// uname prints the node name, the release and the machine, in this order.
	if f := strings.Fields(first("uname")); len(f) == 3 {
		hf.Hostname, hf.Kernel, hf.Arch = f[0], f[1], f[2]
	}
	hf.CPUs, _ = strconv.Atoi(first("cpus"))
	if f := strings.Fields(first("meminfo")); len(f) >= 2 {
		kb, _ := strconv.Atoi(f[1])
		hf.MemoryMB = kb / 1024
	}
	hf.Addresses = strings.Fields(first("addresses"))
	byName := map[string]*v1alpha1.InterfaceFacts{}
	for _, name := range sections["interfaces"] {
		name = strings.TrimSpace(name)
		if name == "" || name == "lo" {
			continue
		}
		hf.Interfaces = append(hf.Interfaces, v1alpha1.InterfaceFacts{Name: name})
	}
	for i := range hf.Interfaces {
		byName[hf.Interfaces[i].Name] = &hf.Interfaces[i]
	}
	add := func(name, addr string) {
		if iface, ok := byName[name]; ok && addr != "" {
			iface.Addresses = append(iface.Addresses, addr)
		}
	}
	// "2: eth0    inet 172.17.0.2/16 brd ... scope global eth0"
	for _, line := range sections["ip"] {
		f := strings.Fields(line)
		if len(f) >= 4 && (f[2] == "inet" || f[2] == "inet6") {
			addr, _, _ := strings.Cut(f[3], "/")
			add(strings.TrimSuffix(f[1], ":"), addr)
		}
	}
	// /proc/net/if_inet6: "fe800000000000000042acfffe110002 02 40 20 80 eth0"
	for _, line := range sections["inet6"] {
		f := strings.Fields(line)
		if len(f) == 6 && len(f[0]) == 32 {
			var groups []string
			for i := 0; i < 32; i += 4 {
				groups = append(groups, f[0][i:i+4])
			}
			add(f[5], compactIPv6(strings.Join(groups, ":")))
		}
	}
	// Without ip, IPv4 addresses come from hostname -I; they are listed on
	// the only interface when there is one.
	if len(sections["ip"]) == 0 && len(hf.Interfaces) == 1 {
		for _, a := range hf.Addresses {
			if !strings.Contains(a, ":") {
				hf.Interfaces[0].Addresses = append([]string{a}, hf.Interfaces[0].Addresses...)
			}
		}
	}
	if hf.OS.ID == "" && hf.Arch == "" {
		return nil, fmt.Errorf("facts: the host answered neither /etc/os-release nor uname")
	}
	return hf, nil
}

// compactIPv6 writes a full IPv6 address in its usual short form.
func compactIPv6(full string) string {
	a, err := netip.ParseAddr(full)
	if err != nil {
		return full
	}
	return a.String()
}
