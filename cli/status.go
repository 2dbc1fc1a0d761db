package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/controller/daemon"
)

// statusSource says where get and describe read the controller's status.
type statusSource struct {
	controller string
	stateDir   string
}

func (s *statusSource) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&s.controller, "controller", DefaultControllerAddr, "address of optimus-controller's status API")
	cmd.Flags().StringVar(&s.stateDir, "state-dir", "", "read the status saved in this state directory instead of asking the controller")
}

func (s *statusSource) fetch() (*v1alpha1.ControllerStatus, error) {
	if s.stateDir != "" {
		st, err := daemon.LoadStatus(s.stateDir)
		if err != nil {
			return nil, exitf(1, "%v", err)
		}
		return st, nil
	}
	url := s.controller
	if !strings.Contains(url, "://") {
		url = "http://" + url
	}
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(strings.TrimRight(url, "/") + "/api/v1/status")
	if err != nil {
		return nil, exitf(1, "cannot reach optimus-controller at %s: %v (is it running? pass --controller ADDR or --state-dir DIR)", s.controller, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, exitf(1, "optimus-controller at %s answered %s", s.controller, resp.Status)
	}
	var st v1alpha1.ControllerStatus
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return nil, exitf(1, "optimus-controller at %s: bad status: %v", s.controller, err)
	}
	return &st, nil
}

// condition returns status and reason of a condition, "Unknown" when absent.
func condition(conds []v1alpha1.Condition, t string) (string, string, string) {
	c := v1alpha1.FindCondition(conds, t)
	if c == nil {
		return string(v1alpha1.ConditionUnknown), "", ""
	}
	return string(c.Status), c.Reason, c.Message
}

// ago renders a time like kubectl's AGE column.
func ago(t time.Time) string {
	if t.IsZero() {
		return "<none>"
	}
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}
