package v1alpha1

import "time"

// RolloutPolicySpec says how optimus-controller rolls a manifest change out:
// canary hosts first, then growing batches, under a failure budget, each
// batch counted as done only when its hosts converged and their health
// checks pass. A manifest set holds at most one policy; without one, a
// change goes to every host at once.
type RolloutPolicySpec struct {
	// Batches are the batch sizes in order, each a number of hosts or a
	// percentage of the hosts the change touches ("1", "10%"); the last size
	// repeats until every host had its turn. Default: one batch of all.
	Batches []string `json:"batches,omitempty" validate:"dive,batchsize"`
	// MaxFail is how many hosts of the rollout may fail (unreachable ones
	// included), a number or a percentage, before it halts. Default 0.
	MaxFail string `json:"maxFail,omitempty" validate:"omitempty,failbudget"`
	// Pause is the wait between a batch's end and the next batch's start.
	Pause *Duration `json:"pause,omitempty"`
	// HealthChecks run on each host of a batch once it converged; a host
	// whose check does not pass is a failed host of the rollout.
	HealthChecks []HealthCheck `json:"healthChecks,omitempty" validate:"dive"`
}

// HealthCheck is a check run on the host itself: a command, or an HTTP GET
// made from the host (with the shell's /dev/tcp, no curl needed).
type HealthCheck struct {
	// Name names the check in status and logs.
	Name string `json:"name" validate:"required,max=63"`
	// Command is a shell command line run with /bin/sh -c.
	Command string `json:"command,omitempty" validate:"required_without=HTTP"`
	// ExpectExit is the exit status that passes the command. Default 0.
	ExpectExit int `json:"expectExit,omitempty" validate:"min=0,max=255"`
	// HTTP checks an HTTP endpoint from the host.
	HTTP *HTTPCheck `json:"http,omitempty" validate:"excluded_with=Command"`
	// Retries is how many more times a failing check is tried. Default 0.
	Retries int `json:"retries,omitempty" validate:"min=0,max=100"`
	// Interval is the wait between tries. Default 2s.
	Interval *Duration `json:"interval,omitempty"`
}

// HTTPCheck is a plain-HTTP GET from the host to one of its ports.
type HTTPCheck struct {
	// Port on 127.0.0.1 of the host.
	Port int `json:"port" validate:"required,min=1,max=65535"`
	// Path of the request. Default /.
	Path string `json:"path,omitempty" validate:"omitempty,startswith=/,excludesall= \n\r"`
	// ExpectStatus is the status code that passes. Default 200.
	ExpectStatus int `json:"expectStatus,omitempty" validate:"omitempty,min=100,max=599"`
}

// Default fills in defaults.
func (s *RolloutPolicySpec) Default(*ObjectMeta) {
	for i := range s.HealthChecks {
		c := &s.HealthChecks[i]
		if c.Interval == nil {
			c.Interval = &Duration{2 * time.Second}
		}
		if c.HTTP != nil {
			if c.HTTP.Path == "" {
				c.HTTP.Path = "/"
			}
			if c.HTTP.ExpectStatus == 0 {
				c.HTTP.ExpectStatus = 200
			}
		}
	}
}

// RolloutPolicyKind is the kind that declares how the controller rolls
// changes out. It targets no host: the controller reads it.
var RolloutPolicyKind = kind[RolloutPolicySpec]("RolloutPolicy", "How optimus-controller rolls a manifest change out: batches, failure budget, pause, health checks.")

// Rollout phases.
const (
	RolloutProgressing = "Progressing"
	RolloutPaused      = "Paused" // waiting out the pause between batches
	RolloutHalted      = "Halted"
	RolloutComplete    = "Complete"
	RolloutAborted     = "Aborted"
)

// ConditionRollout is the controller's and each host's rollout condition;
// its reasons are RolloutProgressing, RolloutHalted, RolloutPending (a host
// kept on the previous generation), RolloutComplete.
const ConditionRollout = "Rollout"

// RolloutStatus is the controller's current rollout, as its API serves it.
type RolloutStatus struct {
	// Generation identifies the manifest set being rolled out.
	Generation string `json:"generation"`
	// Previous is the generation the hosts not yet rolled keep.
	Previous string `json:"previous,omitempty"`
	Phase    string `json:"phase"`
	// Batch is the current batch, from 1; Batches the number of batches.
	Batch   int `json:"batch"`
	Batches int `json:"batches"`
	// Hosts are the hosts the change touches, batch by batch.
	Hosts [][]string `json:"hosts"`
	// Done, Failed and Pending count the hosts.
	Done    int    `json:"done"`
	Failed  int    `json:"failed"`
	Pending int    `json:"pending"`
	Budget  string `json:"budget"`
	// Failures name the failed hosts with their failing resources and why.
	Failures  []RolloutFailure `json:"failures,omitempty"`
	StartedAt time.Time        `json:"startedAt"`
	Message   string           `json:"message,omitempty"`
}

// RolloutFailure is one failed host of a rollout.
type RolloutFailure struct {
	Host string `json:"host"`
	// Resources are the failing resources, "Kind/name: reason".
	Resources []string `json:"resources,omitempty"`
	Reason    string   `json:"reason"`
}
