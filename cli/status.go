package cli

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
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
	tokenFile  string
}

func (s *statusSource) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&s.controller, "controller", DefaultControllerAddr, "address of optimus-controller's status API")
	cmd.Flags().StringVar(&s.stateDir, "state-dir", "", "read the status saved in this state directory instead of asking the controller")
	cmd.Flags().StringVar(&s.tokenFile, "token-file", "", "send the first token of this file (the controller's --auth-token-file format) as a bearer token")
}

// token is the first token of the token file, "" without one.
func (s *statusSource) token() (string, error) {
	if s.tokenFile == "" {
		return "", nil
	}
	b, err := os.ReadFile(s.tokenFile)
	if err != nil {
		return "", exitf(1, "--token-file: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 0 && !strings.HasPrefix(f[0], "#") {
			return f[0], nil
		}
	}
	return "", exitf(1, "--token-file %s: no token in the file", s.tokenFile)
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
	token, err := s.token()
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(http.MethodGet, strings.TrimRight(url, "/")+"/api/v1/status", nil)
	if err != nil {
		return nil, exitf(1, "--controller %s: %v", s.controller, err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return nil, exitf(1, "cannot reach optimus-controller at %s: %v (is it running? pass --controller ADDR or --state-dir DIR)", s.controller, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		return nil, exitf(1, "optimus-controller at %s requires a token: pass --token-file FILE with a token of its --auth-token-file", s.controller)
	}
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
