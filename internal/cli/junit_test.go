package cli

import (
	"bytes"
	"encoding/xml"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/internal/history"
)

// junitRead is the report read back as a CI system would.
type junitRead struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Errors   int `xml:"errors,attr"`
	Skipped  int `xml:"skipped,attr"`
	Suites   []struct {
		Name  string `xml:"name,attr"`
		Cases []struct {
			Name    string `xml:"name,attr"`
			Failure *struct {
				Message string `xml:"message,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
			Error   *struct{} `xml:"error"`
			Skipped *struct{} `xml:"skipped"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func TestJUnit(t *testing.T) {
	run := &history.Run{Command: history.CommandApply, Hosts: []history.Host{
		{Name: "web1", State: history.StateConverged, Resources: []string{"User/alice", "File/motd"},
			Actions: []history.Action{{Resource: "User/alice", Op: "create", Description: "create user alice", Status: "ok",
				Lines: []string{"password: (redacted) -> (redacted)"}}}},
		{Name: "web2", State: history.StateFailed, Reason: "useradd: cannot lock /etc/passwd", Resources: []string{"User/alice", "File/motd"},
			Actions: []history.Action{
				{Resource: "User/alice", Op: "create", Description: "create user alice", Status: "failed", Error: "useradd: cannot lock /etc/passwd"},
				{Resource: "File/motd", Op: "update", Description: "write /etc/motd", Status: "skipped"},
			}},
		{Name: "web3", State: history.StateFailed, Reason: "connection refused", Resources: []string{"User/alice", "File/motd"}},
	}}
	var buf bytes.Buffer
	if err := writeJUnit(&buf, "optimus apply", run); err != nil {
		t.Fatal(err)
	}
	var got junitRead
	if err := xml.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	// Per host: a case for reaching it, one per resource.
	if got.Tests != 9 || got.Failures != 1 || got.Errors != 1 || got.Skipped != 3 || len(got.Suites) != 3 {
		t.Fatalf("totals: tests %d failures %d errors %d skipped %d\n%s", got.Tests, got.Failures, got.Errors, got.Skipped, buf.String())
	}
	want := map[string]string{ // suite/case -> pass, failure, error, skipped
		"web1/Host/web1": "pass", "web1/User/alice": "pass", "web1/File/motd": "pass",
		"web2/Host/web2": "pass", "web2/User/alice": "failure", "web2/File/motd": "skipped",
		"web3/Host/web3": "error", "web3/User/alice": "skipped", "web3/File/motd": "skipped",
	}
	for _, s := range got.Suites {
		for _, c := range s.Cases {
			outcome := "pass"
			switch {
			case c.Failure != nil:
				outcome = "failure"
				if !strings.Contains(c.Failure.Message, "cannot lock") || !strings.Contains(c.Failure.Text, "create user alice") {
					t.Errorf("%s/%s: failure %+v should give the reason and the action", s.Name, c.Name, c.Failure)
				}
			case c.Error != nil:
				outcome = "error"
			case c.Skipped != nil:
				outcome = "skipped"
			}
			if want[s.Name+"/"+c.Name] != outcome {
				t.Errorf("%s/%s: %s, want %s", s.Name, c.Name, outcome, want[s.Name+"/"+c.Name])
			}
		}
	}

	// In diff, a planned action is drift: a failed case with its change lines.
	run = &history.Run{Command: history.CommandDiff, Hosts: []history.Host{{Name: "web1", State: history.StateDiffers,
		Resources: []string{"User/alice"}, Actions: []history.Action{{Resource: "User/alice", Op: "update",
			Description: "set shell of user alice", Status: "planned", Lines: []string{"shell: /bin/sh -> /bin/bash ]]> <x>"}}}}}}
	buf.Reset()
	if err := writeJUnit(&buf, "optimus diff", run); err != nil {
		t.Fatal(err)
	}
	got = junitRead{}
	if err := xml.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	c := got.Suites[0].Cases[1]
	if c.Failure == nil || !strings.Contains(c.Failure.Text, "shell: /bin/sh -> /bin/bash ]]> <x>") {
		t.Errorf("drift case: %+v\n%s", c, buf.String())
	}
}
