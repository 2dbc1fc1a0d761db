package cli

import "testing"

func TestFailedHostsLineSaysOthersOnlyWhenThereAreSome(t *testing.T) {
	for _, tc := range []struct {
		failed, hosts int
		want          string
	}{
		{1, 1, "1 of 1 host failed (quarantined)."},
		{2, 2, "2 of 2 hosts failed (quarantined)."},
		{1, 2, "1 of 2 hosts failed (quarantined); the other converged."},
		{1, 3, "1 of 3 hosts failed (quarantined); the others converged."},
	} {
		if got := failedHostsLine(tc.failed, tc.hosts); got != tc.want {
			t.Errorf("%d of %d: %q, want %q", tc.failed, tc.hosts, got, tc.want)
		}
	}
}
