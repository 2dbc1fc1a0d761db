package v1alpha1

import (
	"strings"
	"testing"
)

func TestParseCronSchedule(t *testing.T) {
	for _, tc := range []struct {
		in, err string
	}{
		{in: "* * * * *"},
		{in: "*/15 2-5 1,15 jan,JUL mon-fri"},
		{in: "0 0 * * 7"},
		{in: "5-55/10 * * * sun"},
		{in: "@daily"},
		{in: "@reboot"},
		{in: "@fortnightly", err: "unknown shortcut"},
		{in: "* * * *", err: "has 4 fields"},
		{in: "60 * * * *", err: `minute field "60": "60" is not a number from 0 to 59`},
		{in: "* 24 * * *", err: "hour field"},
		{in: "* * 0 * *", err: "day of month field"},
		{in: "* * * 13 *", err: "month field"},
		{in: "* * * * 8", err: "day of week field"},
		{in: "* * * foo *", err: "or a name (jan-dec)"},
		{in: "*/0 * * * *", err: "step"},
		{in: "5/2 * * * *", err: "a step needs a range"},
		{in: "10-5 * * * *", err: "backwards"},
		{in: "1,,2 * * * *", err: "minute field"},
	} {
		err := ParseCronSchedule(tc.in)
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%q: err %v, want %q", tc.in, err, tc.err)
		}
	}
}

func FuzzParseCronSchedule(f *testing.F) {
	f.Add("*/15 2-5 1,15 jan,JUL mon-fri")
	f.Add("@daily")
	f.Fuzz(func(t *testing.T, s string) { _ = ParseCronSchedule(s) })
}
