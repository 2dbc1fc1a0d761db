package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

func getStatus(api string) *v1alpha1.ControllerStatus {
	resp, err := http.Get(api + "/api/v1/status")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var st v1alpha1.ControllerStatus
	if json.NewDecoder(resp.Body).Decode(&st) != nil {
		return nil
	}
	return &st
}

// passedSince counts hosts whose last reconcile started after t and ended
// converged.
func passedSince(st *v1alpha1.ControllerStatus, t time.Time) int {
	n := 0
	for _, h := range st.Hosts {
		if h.LastRun != nil && h.LastRun.Start.After(t) && h.LastRun.Result == "converged" {
			n++
		}
	}
	return n
}

// passWindow is when the first reconcile after t started and the last ended.
func passWindow(st *v1alpha1.ControllerStatus, t time.Time) (first, last time.Time) {
	for _, h := range st.Hosts {
		if h.LastRun == nil || !h.LastRun.Start.After(t) {
			continue
		}
		if first.IsZero() || h.LastRun.Start.Before(first) {
			first = h.LastRun.Start
		}
		if end := h.LastRun.Start.Add(h.LastRun.Duration); end.After(last) {
			last = end
		}
	}
	return first, last
}

const converged = `optimus_reconciles_total{result="converged"}`

// metric reads one series of the controller's /metrics.
func metric(api, series string) float64 {
	resp, err := http.Get(api + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}
