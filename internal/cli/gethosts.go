package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/internal/daemon"
	"github.com/optimus-cm/optimus/internal/status"
)

// hostFilter is what get hosts asks the controller to list.
type hostFilter struct {
	selector  string
	state     string
	chunkSize int
}

// values are the list parameters of /api/v1/status for one page.
func (f *hostFilter) values(cont string) url.Values {
	v := url.Values{"limit": {strconv.Itoa(f.chunkSize)}, "resources": {"false"}}
	if f.selector != "" {
		v.Set("label", f.selector)
	}
	if f.state != "" {
		v.Set("state", f.state)
	}
	if cont != "" {
		v.Set("continue", cont)
	}
	return v
}

func (f *hostFilter) check() error {
	if f.chunkSize < 1 || f.chunkSize > status.MaxLimit {
		return exitf(exitInvalid, "--chunk-size must be from 1 to %d, not %d", status.MaxLimit, f.chunkSize)
	}
	if f.selector != "" {
		if _, err := status.ParseSelector(f.selector); err != nil {
			return exitf(exitInvalid, "--selector: %v", err)
		}
	}
	for _, s := range strings.Split(f.state, ",") {
		if s = strings.ToLower(strings.TrimSpace(s)); f.state != "" && s != status.ClassReady && s != status.ClassQuarantined && s != status.ClassPending {
			return exitf(exitInvalid, "--state %q: a state is ready, quarantined or pending", f.state)
		}
	}
	return nil
}

// errNotServed: the controller does not know the path (it predates it).
var errNotServed = errors.New("not served by this controller")

// getJSON asks the controller for path and decodes its answer into v.
func (s *statusSource) getJSON(path string, v any) error {
	resp, err := s.call(http.MethodGet, path, 30*time.Second)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return exitf(exitFailed, "optimus-controller at %s requires a token: pass --token-file FILE with a token of its --auth-token-file", s.controller)
	case resp.StatusCode == http.StatusNotFound:
		return errNotServed
	case resp.StatusCode == http.StatusBadRequest:
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return exitf(exitFailed, "optimus-controller at %s refused the request: %s", s.controller, safe(strings.TrimSpace(string(body))))
	case resp.StatusCode != http.StatusOK:
		return exitf(exitFailed, "optimus-controller at %s answered %s", s.controller, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return exitf(exitFailed, "optimus-controller at %s: bad answer to %s: %v", s.controller, path, err)
	}
	return nil
}

// eachHostPage calls fn with every page of the hosts f selects, in name
// order, and first with the fleet's conditions: from the summary and the
// list pages when asking a controller.
func (s *statusSource) eachHostPage(f *hostFilter, conditions func([]v1alpha1.Condition), fn func([]v1alpha1.HostStatus) error) error {
	if s.stateDir != "" {
		return s.hostsFromDocument(f, conditions, fn)
	}
	var sum daemon.Summary
	if err := s.getJSON("/api/v1/summary", &sum); errors.Is(err, errNotServed) {
		return s.hostsFromDocument(f, conditions, fn) // a controller older than paging
	} else if err != nil {
		return err
	}
	conditions(sum.Conditions)
	cont := ""
	for {
		var l daemon.HostList
		if err := s.getJSON("/api/v1/status?"+f.values(cont).Encode(), &l); err != nil {
			return err
		}
		hosts := make([]v1alpha1.HostStatus, len(l.Items))
		for i, it := range l.Items {
			hosts[i] = it.HostStatus
		}
		if err := fn(hosts); err != nil {
			return err
		}
		if cont = l.Metadata.Continue; cont == "" {
			return nil
		}
	}
}

// hostsFromDocument reads the whole status, from the saved file with
// --state-dir or from a controller that serves no pages, and filters it
// here by state (labels are in neither).
func (s *statusSource) hostsFromDocument(f *hostFilter, conditions func([]v1alpha1.Condition), fn func([]v1alpha1.HostStatus) error) error {
	if f.selector != "" {
		return exitf(exitInvalid, "--selector needs a controller that serves host lists: the whole status document has no labels")
	}
	st, err := s.fetch()
	if err != nil {
		return err
	}
	conditions(st.Conditions)
	hosts := st.Hosts[:0:0]
	for _, h := range st.Hosts {
		if f.state == "" || strings.Contains(","+strings.ToLower(strings.ReplaceAll(f.state, " ", ""))+",", ","+(&status.Host{Status: h}).Class()+",") {
			hosts = append(hosts, h)
		}
	}
	return fn(hosts)
}

// getHosts prints the hosts page by page as they arrive, in the format
// -o asks; a table's columns are aligned within each page.
func getHosts(out io.Writer, src *statusSource, f *hostFilter, output string) error {
	if err := f.check(); err != nil {
		return err
	}
	listed, shared, header := 0, false, false
	conditions := func(cs []v1alpha1.Condition) {
		// A rollout that is not complete is said first: it explains hosts
		// kept on a previous generation.
		if output == "" || output == "wide" {
			if c := v1alpha1.FindCondition(cs, v1alpha1.ConditionRollout); c != nil && c.Status != v1alpha1.ConditionTrue {
				fmt.Fprintf(out, "%s: %s\n", safe(c.Reason), safe(c.Message))
			}
		}
	}
	err := src.eachHostPage(f, conditions, func(hosts []v1alpha1.HostStatus) error {
		defer func() { listed += len(hosts) }()
		switch output {
		case "json":
			// The pages make one JSON array, as encoding the whole list would.
			for i := range hosts {
				b, err := json.MarshalIndent(&hosts[i], "  ", "  ")
				if err != nil {
					return err
				}
				sep := ",\n  "
				if listed+i == 0 {
					sep = "[\n  "
				}
				if _, err := fmt.Fprintf(out, "%s%s", sep, b); err != nil {
					return err
				}
			}
		case "yaml":
			if len(hosts) == 0 {
				return nil
			}
			b, err := yaml.Marshal(hosts) // sequences written one after another are one sequence
			if err != nil {
				return err
			}
			_, err = out.Write(b)
			return err
		case "name":
			for _, h := range hosts {
				fmt.Fprintf(out, "host/%s\n", safe(h.Name))
			}
		default:
			if listed == 0 {
				for _, h := range hosts {
					shared = shared || h.Replica != ""
				}
			}
			printHostRows(out, hosts, output == "wide", shared, !header)
			header = true
		}
		return nil
	})
	if err != nil {
		return err
	}
	switch {
	case output == "json" && listed == 0:
		fmt.Fprintln(out, "[]")
	case output == "json":
		fmt.Fprintln(out, "\n]")
	case output == "yaml" && listed == 0:
		fmt.Fprintln(out, "[]")
	case (output == "" || output == "wide") && !header:
		printHostRows(out, nil, output == "wide", false, true)
	}
	return nil
}

// replicas reads the live replicas from the summary, with their leases;
// with --state-dir, from the saved status.
func (s *statusSource) replicas() (*v1alpha1.ControllerStatus, error) {
	if s.stateDir != "" {
		return s.fetch()
	}
	var sum daemon.Summary
	if err := s.getJSON("/api/v1/summary?leases=true", &sum); errors.Is(err, errNotServed) {
		return s.fetch() // a controller older than the summary
	} else if err != nil {
		return nil, err
	}
	return &v1alpha1.ControllerStatus{Conditions: sum.Conditions, Replicas: sum.Replicas}, nil
}
