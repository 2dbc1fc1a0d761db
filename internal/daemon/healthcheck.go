package daemon

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/transport"
)

// healthCheck runs a rollout's checks on a host that converged, each tried
// up to 1+retries times; the first check that never passes is the error.
func (d *Daemon) healthCheck(ctx context.Context, h *v1alpha1.Host, checks []v1alpha1.HealthCheck) error {
	for _, c := range checks {
		var last string
		passed := false
		for try := 0; try <= c.Retries && !passed; try++ {
			if try > 0 {
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(c.Interval.Duration):
				}
			}
			res, err := d.pool.Batch(ctx, h, d.dial, []transport.Command{{Script: checkScript(c)}})
			if err != nil {
				last = err.Error()
				continue
			}
			passed, last = checkPassed(c, res[0])
		}
		if !passed {
			return fmt.Errorf("health check %s failed after %d %s: %s", c.Name, c.Retries+1, plural(c.Retries+1, "try", "tries"), last)
		}
	}
	return nil
}

// checkScript is the command a check runs on the host. An HTTP check needs
// no client on the host: bash's /dev/tcp sends the request and the status
// line is printed.
func checkScript(c v1alpha1.HealthCheck) string {
	if c.HTTP == nil {
		return c.Command
	}
	req := fmt.Sprintf(`exec 3<>/dev/tcp/127.0.0.1/%d || exit 1
printf 'GET %%s HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' %s >&3
IFS=' ' read -r _ code _ <&3; echo "$code"`, c.HTTP.Port, reconcilers.ShellCommand(c.HTTP.Path))
	return "bash -c " + reconcilers.ShellCommand(req)
}

// checkPassed judges a check's result and says why it did not pass.
func checkPassed(c v1alpha1.HealthCheck, r transport.Result) (bool, string) {
	out := strings.TrimSpace(string(r.Stdout) + " " + string(r.Stderr))
	if c.HTTP != nil {
		got := strings.TrimSpace(string(r.Stdout))
		if r.ExitCode == 0 && got == fmt.Sprint(c.HTTP.ExpectStatus) {
			return true, ""
		}
		if got == "" {
			return false, fmt.Sprintf("GET 127.0.0.1:%d%s: no answer (exit status %d) %s", c.HTTP.Port, c.HTTP.Path, r.ExitCode, strings.TrimSpace(string(r.Stderr)))
		}
		return false, fmt.Sprintf("GET 127.0.0.1:%d%s: status %s, want %d", c.HTTP.Port, c.HTTP.Path, got, c.HTTP.ExpectStatus)
	}
	if r.ExitCode == c.ExpectExit {
		return true, ""
	}
	return false, fmt.Sprintf("exit status %d, want %d: %s", r.ExitCode, c.ExpectExit, out)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
