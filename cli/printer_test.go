package cli

import (
	"bytes"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/controller"
)

// TestColoredSummaryStaysAligned: color codes must not shift the columns.
func TestColoredSummaryStaysAligned(t *testing.T) {
	r := &controller.Report{Hosts: []controller.HostReport{
		{Host: "web-1", State: controller.HostConverged, Changed: 2},
		{Host: "db", State: controller.HostFailed, Failed: 1, Err: errors.New("User/alice: exit status 1:\nuseradd: cannot lock /etc/passwd;\n  try again later.")},
	}}
	var plain, colored bytes.Buffer
	(&printer{w: &plain}).summary(r)
	(&printer{w: &colored, color: true}).summary(r)
	stripped := regexp.MustCompile("\x1b\\[[0-9;]*m").ReplaceAllString(colored.String(), "")
	if stripped != plain.String() {
		t.Errorf("colored table differs from the plain one once colors are removed:\n%s\nvs\n%s", stripped, plain.String())
	}
	if strings.Count(plain.String(), "\n") != 3 || !strings.Contains(plain.String(), "exit status 1: useradd: cannot lock /etc/passwd; try again later.") {
		t.Errorf("a reason spanning lines must be folded into its row:\n%s", plain.String())
	}
	if !strings.Contains(colored.String(), red+"failed"+reset) {
		t.Errorf("failed host not in red:\n%q", colored.String())
	}
}
