package transport

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/test/testhost"
)

// A batch past its deadline fails with ReasonTimeout, and its processes on
// the host are gone, even one that ignores SIGTERM.
func TestBatchDeadlineStopsRemoteWork(t *testing.T) {
	transports := []struct {
		name string
		dial func(t *testing.T) Conn
	}{
		{"local", func(t *testing.T) Conn { return dial(t, localHost()) }},
		{"ssh", func(t *testing.T) Conn { return dial(t, shared(t).Resource()) }},
		{"docker", func(t *testing.T) Conn { return dial(t, dockerHost(shared(t).Container)) }},
		// The stop goes through sudo as the shell does: without a password,
		// and answering sudo's prompt.
		{"sudo", func(t *testing.T) Conn {
			h := shared(t).Resource()
			h.Spec.User, h.Spec.Become = testhost.Deploy, &v1alpha1.BecomeSpec{}
			return dial(t, h)
		}},
		{"sudo with a password", func(t *testing.T) Conn {
			h := shared(t).Resource()
			t.Setenv("TEST_SUDO_PASSWORD", testhost.OperatorPassword)
			h.Spec.User = testhost.Operator
			h.Spec.Become = &v1alpha1.BecomeSpec{User: testhost.Deploy, PasswordFrom: &v1alpha1.SecretSource{Env: "TEST_SUDO_PASSWORD"}}
			return dial(t, h)
		}},
	}
	for i, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			c := tr.dial(t)
			// A sleep nobody else runs, so that ps can tell whether it is gone.
			sleep := fmt.Sprintf("sleep %d%d", 7000+i, os.Getpid())
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_, err := c.Batch(ctx, []Command{{Script: "true"}, {Script: "trap '' TERM; " + sleep}, {Script: "echo never"}})
			var ce *ConnectError
			if !errors.As(err, &ce) || ce.Reason != ReasonTimeout {
				t.Fatalf("want a %s ConnectError, got %T: %v", ReasonTimeout, err, err)
			}
			if !strings.Contains(err.Error(), "1 of 3 commands had finished") {
				t.Errorf("error does not say how far the batch went: %v", err)
			}
			// The connection dials a new shell for the next batch.
			ps := run(t, c, "ps -eo args=")
			if strings.Contains(string(ps.Stdout), sleep) {
				t.Errorf("%q still runs after the deadline:\n%s", sleep, ps.Stdout)
			}
		})
	}
}

// A batch whose kill channel is closed is killed at once, without waiting
// for the grace period of SIGTERM.
func TestBatchKillStopsAtOnce(t *testing.T) {
	c := dial(t, shared(t).Resource())
	sleep := fmt.Sprintf("sleep 8%d", os.Getpid())
	kill := make(chan struct{})
	close(kill)
	ctx, cancel := context.WithCancel(WithKill(context.Background(), kill))
	time.AfterFunc(time.Second, cancel)
	_, err := c.Batch(ctx, []Command{{Script: "trap '' TERM; " + sleep}})
	if err == nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("want an interrupted batch, got %v", err)
	}
	ps := run(t, c, "ps -eo args=")
	if strings.Contains(string(ps.Stdout), sleep) {
		t.Errorf("%q still runs after the kill:\n%s", sleep, ps.Stdout)
	}
	// Nothing new starts on a cancelled context.
	if _, err := c.Batch(ctx, []Command{{Script: "true"}}); err == nil {
		t.Error("a batch on a cancelled context was sent")
	}
}
