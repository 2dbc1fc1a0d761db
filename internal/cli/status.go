package cli

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/internal/daemon"
)

// statusSource says where get and describe read the controller's status.
type statusSource struct {
	controller string
	stateDir   string
	tokenFile  string
	caFile     string
}

func (s *statusSource) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&s.controller, "controller", DefaultControllerAddr, "address of optimus-controller's status API (HOST:PORT, http://... or https://...)")
	cmd.Flags().StringVar(&s.caFile, "controller-ca-file", os.Getenv("OPTIMUS_CONTROLLER_CA_FILE"),
		"PEM file of the CA that signed the controller's --tls-cert-file; HOST:PORT then means https (default $OPTIMUS_CONTROLLER_CA_FILE)")
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
		return "", exitf(exitFailed, "--token-file: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 0 && !strings.HasPrefix(f[0], "#") {
			return f[0], nil
		}
	}
	return "", exitf(exitFailed, "--token-file %s: no token in the file", s.tokenFile)
}

func (s *statusSource) fetch() (*v1alpha1.ControllerStatus, error) {
	if s.stateDir != "" {
		st, err := daemon.LoadStatus(s.stateDir)
		if err != nil {
			return nil, exitf(exitFailed, "%v", err)
		}
		return st, nil
	}
	resp, err := s.call(http.MethodGet, "/api/v1/status", 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		return nil, exitf(exitFailed, "optimus-controller at %s requires a token: pass --token-file FILE with a token of its --auth-token-file", s.controller)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, exitf(exitFailed, "optimus-controller at %s answered %s", s.controller, resp.Status)
	}
	var st v1alpha1.ControllerStatus
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return nil, exitf(exitFailed, "optimus-controller at %s: bad status: %v", s.controller, err)
	}
	return &st, nil
}

// call sends a request to the controller's API with the token, over HTTPS
// when the address says so or a CA file is given. The caller closes the
// body.
func (s *statusSource) call(method, path string, timeout time.Duration) (*http.Response, error) {
	base := s.controller
	if !strings.Contains(base, "://") {
		scheme := "http://"
		if s.caFile != "" {
			scheme = "https://"
		}
		base = scheme + base
	}
	if s.caFile != "" && strings.HasPrefix(base, "http://") {
		return nil, exitf(exitFailed, "--controller-ca-file is for an HTTPS controller, but --controller is %s: use https://", s.controller)
	}
	token, err := s.token()
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest(method, strings.TrimRight(base, "/")+path, nil)
	if err != nil {
		return nil, exitf(exitFailed, "--controller %s: %v", s.controller, err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if s.caFile != "" {
		pem, err := os.ReadFile(s.caFile)
		if err != nil {
			return nil, exitf(exitFailed, "--controller-ca-file: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, exitf(exitFailed, "--controller-ca-file %s: no PEM certificate in the file", s.caFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	resp, err := (&http.Client{Timeout: timeout, Transport: tr}).Do(req)
	if err != nil {
		hint := "is it running? pass --controller ADDR"
		var unknownCA x509.UnknownAuthorityError
		if errors.As(err, &unknownCA) {
			hint = "its certificate is not signed by a CA this machine trusts: pass --controller-ca-file FILE"
		}
		return nil, exitf(exitFailed, "cannot reach optimus-controller at %s: %v (%s)", s.controller, err, hint)
	}
	if resp.StatusCode == http.StatusBadRequest && strings.HasPrefix(base, "http://") {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		if strings.Contains(string(body), "HTTPS server") {
			return nil, exitf(exitFailed, "optimus-controller at %s serves HTTPS: pass --controller https://%s (and --controller-ca-file FILE for its CA)",
				s.controller, strings.TrimPrefix(base, "http://"))
		}
		return nil, exitf(exitFailed, "optimus-controller at %s answered %s: %s", s.controller, resp.Status, strings.TrimSpace(string(body)))
	}
	return resp, nil
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
