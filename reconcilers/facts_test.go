package reconcilers

import (
	"reflect"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

func TestParseHostFacts(t *testing.T) {
	const head = "@os-release\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n" +
		"@uname\nweb1 6.1.0 x86_64\n@cpus\n2\n@meminfo\nMemTotal:        4030000 kB\n@addresses\n172.17.0.2 \n@interfaces\neth0\nlo\n"
	osf := v1alpha1.OSFacts{ID: "debian", VersionID: "12", Name: "Debian GNU/Linux", PrettyName: "Debian GNU/Linux 12 (bookworm)"}
	for _, tc := range []struct {
		name, out string
		ifaces    []v1alpha1.InterfaceFacts
	}{
		{"without ip", head + "@inet6\nfe800000000000000042acfffe110002 02 40 20 80     eth0\n00000000000000000000000000000001 01 80 10 80       lo\n",
			[]v1alpha1.InterfaceFacts{{Name: "eth0", Addresses: []string{"172.17.0.2", "fe80::42:acff:fe11:2"}}}},
		{"with ip", head + "@ip\n1: lo    inet 127.0.0.1/8 scope host lo\n2: eth0    inet 172.17.0.2/16 brd 172.17.255.255 scope global eth0\n",
			[]v1alpha1.InterfaceFacts{{Name: "eth0", Addresses: []string{"172.17.0.2"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseHostFacts(tc.out)
			if err != nil {
				t.Fatal(err)
			}
			want := &v1alpha1.HostFacts{OS: osf, Arch: "x86_64", Kernel: "6.1.0", CPUs: 2, MemoryMB: 3935, Hostname: "web1",
				Addresses: []string{"172.17.0.2"}, Interfaces: tc.ifaces}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
			if v, ok := got.Fact("os.id"); !ok || v != "debian" {
				t.Errorf("os.id = %q %v", v, ok)
			}
			sel := &v1alpha1.LabelSelector{MatchFacts: map[string]string{"os.id": "debian", "cpus": "2"}}
			if !sel.MatchesFacts(got) {
				t.Error("selector does not match")
			}
			sel.MatchFacts["os.id"] = "alpine"
			if sel.MatchesFacts(got) {
				t.Error("alpine selector matches debian")
			}
		})
	}
	if _, err := ParseHostFacts("@cpus\n2\n"); err == nil {
		t.Error("facts without os-release nor uname accepted")
	}
}

func FuzzParseHostFacts(f *testing.F) {
	f.Add("@os-release\nID=debian\n@uname\nh 6.1 x86_64\n@inet6\nfe800000000000000042acfffe110002 02 40 20 80 eth0\n@interfaces\neth0\n")
	f.Fuzz(func(t *testing.T, out string) { _, _ = ParseHostFacts(out) })
}
