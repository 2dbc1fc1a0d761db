package cron

import (
	"context"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/transport"
)

// Hosts with crontab(1) (not the test image) are edited through it.
func TestPlanWithCrontab(t *testing.T) {
	res := &v1alpha1.Resource{TypeMeta: v1alpha1.TypeMeta{Kind: "Cron"}, Metadata: v1alpha1.ObjectMeta{Name: "backup"}}
	s := &v1alpha1.CronSpec{Schedule: "0  3 * * *", Command: "/usr/local/bin/backup"}
	s.Default(&res.Metadata)
	res.Spec = s
	for _, tc := range []struct {
		name, out, script, before string
	}{
		{name: "converged", out: "@@optimus-cron crontab\n@@optimus-crontab root\nMAILTO=ops\n# optimus: backup\n0 3 * * * /usr/local/bin/backup\n\n"},
		{name: "add", out: "@@optimus-cron crontab\n@@optimus-crontab root\n\n", script: "| crontab -u root -\n"},
		{name: "update", out: "@@optimus-cron crontab\n@@optimus-crontab root\n# optimus: backup\n0 4 * * * /usr/local/bin/backup\n",
			script: "| crontab -u root -\n", before: "0 4 * * * /usr/local/bin/backup"},
		{name: "spool", out: "@@optimus-cron spool /var/spool/cron/crontabs crontab\n@@optimus-crontab root\n",
			script: `f=/var/spool/cron/crontabs/root d=/var/spool/cron/crontabs`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			facts := reconcilers.NewFacts(map[string]transport.Result{"cron": {Stdout: []byte(tc.out)}})
			acts, err := reconcilers.AsReconciler(Reconciler{}).Plan(context.Background(), reconcilers.Request{Resource: res, Facts: facts})
			if err != nil {
				t.Fatal(err)
			}
			if tc.script == "" {
				if len(acts) != 0 {
					t.Fatalf("want no action, got %+v", acts)
				}
				return
			}
			if len(acts) != 1 || !strings.Contains(acts[0].Script, tc.script) || acts[0].Changes[0].Before != tc.before ||
				string(acts[0].Stdin) != "# optimus: backup\n0 3 * * * /usr/local/bin/backup\n" {
				t.Fatalf("got %+v", acts)
			}
		})
	}
}

// TestCrontabTooLarge: a crontab that reached the query's bound fails its
// entries with the limit, and the crontabs around it are read as usual.
func TestCrontabTooLarge(t *testing.T) {
	huge := strings.Repeat("# filler line of a crontab\n", reconcilers.ReadLimit/20)
	out := envMark + "crontab\n" + userMark + "alice\n" + huge + "\n" + userMark + "bob\n* * * * * true\n\n"
	o, err := parse(out)
	if err != nil {
		t.Fatal(err)
	}
	if !o.tooLarge["alice"] || o.tooLarge["bob"] || o.crontabs["bob"][0] != "* * * * * true" {
		t.Errorf("too large: %v; bob's crontab %q", o.tooLarge, o.crontabs["bob"])
	}
}
