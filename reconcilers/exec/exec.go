package exec

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
	"github.com/optimus-cm/optimus/transport"
)

// KeyPrefix starts the Key of the query; it ends with a hash of the script.
const KeyPrefix = "exec."

// Decisions of the guards.
const (
	Run          = "run"
	SkipCreates  = "creates"
	SkipUnless   = "unless"
	SkipOnlyIf   = "onlyif"
	timeoutCode  = 124
	killAfterSec = 10
)

// Reconciler reconciles Exec resources.
type Reconciler struct{}

var (
	_ reconcilers.TypedReconciler[v1alpha1.ExecSpec] = Reconciler{}
	_ reconcilers.TypedRefresher[v1alpha1.ExecSpec]  = Reconciler{}
)

// Kind implements reconcilers.Reconciler.
func (Reconciler) Kind() string { return v1alpha1.ExecKind.Kind }

// Queries evaluates the guards of every Exec of the host in one command,
// each with the user, directory, environment and timeout of its command.
// The user's unless and onlyIf commands are trusted to only read.
func (Reconciler) Queries(_ *v1alpha1.Host, objs []reconcilers.Object[v1alpha1.ExecSpec]) []reconcilers.Query {
	os := slices.Clone(objs)
	sort.Slice(os, func(i, j int) bool { return os[i].Resource.Metadata.Name < os[j].Resource.Metadata.Name })
	var b strings.Builder
	for _, o := range os {
		b.WriteString(GuardScript(o.Resource.Metadata.Name, o.Spec))
	}
	b.WriteString("exit 0\n")
	sum := sha256.Sum256([]byte(b.String()))
	return []reconcilers.Query{{Key: KeyPrefix + hex.EncodeToString(sum[:8]), Script: b.String()}}
}

// GuardScript prints "name<TAB>decision" for one Exec.
func GuardScript(name string, s *v1alpha1.ExecSpec) string {
	var b strings.Builder
	b.WriteString("r=" + Run + "\n")
	if s.Creates != "" {
		fmt.Fprintf(&b, "[ -e %s ] && r=%s\n", reconcilers.ShellCommand(s.Creates), SkipCreates)
	}
	if s.Unless != "" {
		fmt.Fprintf(&b, "[ $r = %s ] && %s >/dev/null 2>&1 </dev/null && r=%s\n", Run, Wrap(s, s.Unless), SkipUnless)
	}
	if s.OnlyIf != "" {
		fmt.Fprintf(&b, "[ $r = %s ] && ! %s >/dev/null 2>&1 </dev/null && r=%s\n", Run, Wrap(s, s.OnlyIf), SkipOnlyIf)
	}
	fmt.Fprintf(&b, "printf '%%s\\t%%s\\n' %s \"$r\"\n", reconcilers.ShellCommand(name))
	return b.String()
}

// Wrap runs command with the spec's environment, working directory, user
// and timeout.
func Wrap(s *v1alpha1.ExecSpec, command string) string {
	var inner strings.Builder
	keys := make([]string, 0, len(s.Env))
	for k := range s.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		inner.WriteString(k + "=" + reconcilers.ShellCommand(s.Env[k]) + "; export " + k + "\n")
	}
	if s.Cwd != "" {
		inner.WriteString("cd " + reconcilers.ShellCommand(s.Cwd) + " || exit 1\n")
	}
	inner.WriteString(command)
	args := []string{"timeout", "-k", fmt.Sprint(killAfterSec), fmt.Sprint(seconds(s))}
	if s.User != "" {
		args = append(args, "su", "-s", "/bin/sh", "-c", inner.String(), s.User)
	} else {
		args = append(args, "sh", "-c", inner.String())
	}
	return reconcilers.ShellCommand(args...)
}

func seconds(s *v1alpha1.ExecSpec) int {
	d := 5 * time.Minute
	if s.Timeout != nil && s.Timeout.Duration > 0 {
		d = s.Timeout.Duration
	}
	return int(math.Ceil(d.Seconds()))
}

func decision(f *reconcilers.Facts, name string) (string, error) {
	for _, k := range f.Keys(KeyPrefix) {
		decisions, err := reconcilers.Parsed(f, k, func(out string) (map[string]string, error) {
			m := map[string]string{}
			for _, l := range strings.Split(out, "\n") {
				if n, d, ok := strings.Cut(l, "\t"); ok {
					m[n] = d
				}
			}
			return m, nil
		})
		if err != nil {
			return "", err
		}
		if d, ok := decisions[name]; ok {
			return d, nil
		}
	}
	return "", fmt.Errorf("exec %s was not observed: the reconciler did not declare it in its query", name)
}

// Plan runs the command when its guards say it is needed; a refreshOnly
// command runs only through Refresh.
func (Reconciler) Plan(_ context.Context, req reconcilers.TypedRequest[v1alpha1.ExecSpec]) ([]reconcilers.Action, error) {
	s := req.Spec
	if s.RefreshOnly {
		return nil, nil
	}
	d, err := decision(req.Facts, req.Resource.Metadata.Name)
	if err != nil || d != Run {
		return nil, err
	}
	a, err := action(s, reason(s))
	if err != nil {
		return nil, err
	}
	return []reconcilers.Action{a}, nil
}

// Triggers implements reconcilers.Refresher.
func (Reconciler) Triggers(obj reconcilers.Object[v1alpha1.ExecSpec]) []v1alpha1.ResourceRef {
	return obj.Spec.RestartOn
}

// Refresh runs the command because a resource it watches changes, unless it
// runs already or its guards say it is not needed.
func (Reconciler) Refresh(_ context.Context, req reconcilers.TypedRequest[v1alpha1.ExecSpec], planned []reconcilers.Action) ([]reconcilers.Action, error) {
	if len(planned) > 0 {
		return nil, nil
	}
	s := req.Spec
	d, err := decision(req.Facts, req.Resource.Metadata.Name)
	if err != nil || d != Run {
		return nil, err
	}
	a, err := action(s, "a resource it watches changed")
	if err != nil {
		return nil, err
	}
	return []reconcilers.Action{a}, nil
}

func reason(s *v1alpha1.ExecSpec) string {
	var r []string
	if s.Creates != "" {
		r = append(r, s.Creates+" does not exist")
	}
	if s.Unless != "" {
		r = append(r, "unless failed")
	}
	if s.OnlyIf != "" {
		r = append(r, "onlyIf succeeded")
	}
	return strings.Join(r, ", ")
}

// secretEnv reads envFrom and returns the script that exports it, reading
// one value per line from stdin, and that stdin.
func secretEnv(s *v1alpha1.ExecSpec) (script string, stdin []byte, secrets []string, err error) {
	keys := make([]string, 0, len(s.EnvFrom))
	for k := range s.EnvFrom {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		v, err := s.EnvFrom[k].Resolve()
		if err != nil {
			return "", nil, nil, fmt.Errorf("spec.envFrom[%s]: %w", k, err)
		}
		if err := s.CheckSecret("envFrom["+k+"]", v); err != nil {
			return "", nil, nil, fmt.Errorf("spec.envFrom[%s]: the secret %w", k, err)
		}
		fmt.Fprintf(&b, "IFS= read -r _ov || exit 1; %s=$_ov; export %s\n", k, k)
		stdin = append(stdin, v+"\n"...)
		secrets = append(secrets, v)
	}
	return b.String(), stdin, secrets, nil
}

func action(s *v1alpha1.ExecSpec, why string) (reconcilers.Action, error) {
	cmd, _, multi := strings.Cut(s.Command, "\n")
	if len(cmd) > 60 {
		cmd, multi = cmd[:60], true
	}
	if multi {
		cmd += " ..."
	}
	desc := "run " + cmd
	if s.User != "" {
		desc += " as " + s.User
	}
	timeout := time.Duration(seconds(s)) * time.Second
	env, stdin, secrets, err := secretEnv(s)
	if err != nil {
		return reconcilers.Action{}, err
	}
	// Isolated: the command, as root or as spec.user, may leave processes
	// behind that would otherwise keep the shell's output.
	run := transport.Isolate(Wrap(s, s.Command))
	if stdin != nil {
		// The secrets were read from stdin; the command gets none.
		run += " </dev/null"
	}
	return reconcilers.Action{
		Op:          reconcilers.OpRun,
		Description: desc + " (" + why + ")",
		Changes:     []reconcilers.Change{{Field: "command", After: s.Command}},
		Script: env + run + "\nrc=$?\n" +
			fmt.Sprintf("[ $rc -eq %d ] && echo %s >&2\n", timeoutCode,
				reconcilers.ShellCommand("optimus: command timed out after "+timeout.String())) +
			"exit $rc\n",
		Stdin:   stdin,
		Secrets: secrets,
		// timeout kills the command killAfterSec after asking it to stop.
		Timeout: timeout + killAfterSec*time.Second,
	}, nil
}
