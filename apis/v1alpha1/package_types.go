package v1alpha1

import (
	"fmt"
	"strings"
	"time"
)

// PackageSpec is a set of operating-system packages.
type PackageSpec struct {
	Targeting `json:",inline"`
	// Names of the packages. Default: [metadata.name].
	Names []string `json:"names,omitempty" validate:"dive,required,pkgname"`
	// State is present (default), absent, or latest (upgraded to the candidate version).
	State string `json:"state,omitempty" validate:"omitempty,oneof=present absent latest"`
	// Manager is auto (default: detected per host), apt, dnf or apk.
	Manager string `json:"manager,omitempty" validate:"omitempty,oneof=auto apt dnf apk"`
	// CacheValidTime is how old the package lists may be before a package to
	// install or upgrade makes Optimus refresh them (apt-get update, dnf
	// makecache, apk update), once per host per run: "cacheValidTime: 1h".
	// Lists that do not know a package are refreshed whatever their age.
	// Default 24h.
	CacheValidTime *Duration `json:"cacheValidTime,omitempty"`
}

// Default fills in defaults.
func (s *PackageSpec) Default(m *ObjectMeta) {
	if len(s.Names) == 0 {
		s.Names = []string{m.Name}
	}
	if s.State == "" {
		s.State = StatePresent
	}
	if s.Manager == "" {
		s.Manager = "auto"
	}
	if s.CacheValidTime == nil {
		s.CacheValidTime = &Duration{24 * time.Hour}
	}
}

// ServiceSpec is a system service.
type ServiceSpec struct {
	Targeting `json:",inline"`
	// Name of the service (unit or init script). Default: metadata.name.
	Name string `json:"name,omitempty" validate:"omitempty,max=128,unixname"`
	// State is running (default) or stopped.
	State string `json:"state,omitempty" validate:"omitempty,oneof=running stopped"`
	// Enabled starts the service at boot, as the host's init system means it:
	// systemd's unit file state enabled (not only for this boot), or an init
	// script's start link in the default runlevel or rcS.d. Absent: left as it is.
	Enabled *bool `json:"enabled,omitempty"`
	// RestartOn restarts the service when one of these resources changed in
	// the same run; a service that is not running yet is started, or
	// restarted if something (a package's install script) started it before
	// its turn, so it always ends the run on the new configuration.
	RestartOn []ResourceRef `json:"restartOn,omitempty" validate:"dive"`
	// ReloadOn reloads the service, where it can reload (a systemd unit with
	// a reload command; an init script with a reload action), when one of
	// these resources changed in the same run, and restarts it where it
	// cannot. When resources of both lists changed, it restarts.
	ReloadOn []ResourceRef `json:"reloadOn,omitempty" validate:"dive"`
}

// Default fills in defaults.
func (s *ServiceSpec) Default(m *ObjectMeta) {
	if s.Name == "" {
		s.Name = m.Name
	}
	if s.State == "" {
		s.State = StateRunning
	}
}

// ExecSpec runs a command when a condition says it is needed. Its unless and
// onlyIf guards are user commands that run while observing, so optimus diff
// runs them too.
type ExecSpec struct {
	Targeting `json:",inline"`
	// Command is a shell command line run with /bin/sh -c.
	Command string `json:"command" validate:"required"`
	// Creates: the command is not run when this absolute path exists.
	Creates string `json:"creates,omitempty" validate:"omitempty,abspath"`
	// Unless: the command is not run when this shell command exits 0. It runs
	// as root while observing, in optimus diff and in every plan too: it must
	// only read (observe is otherwise read-only), and what it does is yours.
	Unless string `json:"unless,omitempty"`
	// OnlyIf: the command is run only when this shell command exits 0. It runs
	// as root while observing, in optimus diff and in every plan too: it must
	// only read (observe is otherwise read-only), and what it does is yours.
	OnlyIf string `json:"onlyIf,omitempty"`
	// RefreshOnly runs the command only when a resource in restartOn changed in the same run.
	RefreshOnly bool `json:"refreshOnly,omitempty"`
	// RestartOn names the resources whose change triggers the command.
	RestartOn []ResourceRef `json:"restartOn,omitempty" validate:"required_if=RefreshOnly true,dive"`
	// User runs the command as this user (through su).
	User string `json:"user,omitempty" validate:"omitempty,max=32,unixname"`
	// Cwd is the absolute working directory.
	Cwd string `json:"cwd,omitempty" validate:"omitempty,abspath"`
	// Env are extra environment variables.
	Env map[string]string `json:"env,omitempty" validate:"dive,keys,envname,endkeys"`
	// EnvFrom are environment variables whose values are secrets, each read
	// from {env: NAME} or {file: PATH} where optimus runs. The values reach
	// the command through the shell's standard input, never a command line,
	// a file, a plan or a log; unless and onlyIf do not see them.
	EnvFrom map[string]*SecretSource `json:"envFrom,omitempty" validate:"dive,keys,envname,endkeys,required"`
	// Timeout bounds the command's run time. Default 5m.
	Timeout *Duration `json:"timeout,omitempty"`
}

var _ SecretChecker = (*ExecSpec)(nil)

// CheckSecret refuses a secret environment value with a newline: each value
// travels as one line.
func (s *ExecSpec) CheckSecret(path, value string) error {
	if strings.HasPrefix(path, "envFrom") && strings.ContainsAny(value, "\n\x00") {
		return fmt.Errorf("holds a newline or NUL byte, which an environment variable from envFrom cannot")
	}
	return nil
}

// Default fills in defaults.
func (s *ExecSpec) Default(_ *ObjectMeta) {
	if s.Timeout == nil {
		s.Timeout = &Duration{5 * time.Minute}
	}
}

// Check requires a condition: an Exec without one would run in every cycle
// and never converge.
func (s *ExecSpec) Check() []FieldError {
	if s.Creates == "" && s.Unless == "" && s.OnlyIf == "" && !s.RefreshOnly {
		return []FieldError{{Path: "command", Message: "say when the command is needed: set creates, unless, onlyIf or refreshOnly (without one it would run in every cycle)"}}
	}
	return nil
}
