package fleetsim

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// Memory is the memory the fleet's containers use, in bytes, as docker
// stats counts it (the cgroup's usage less inactive file cache): simd, every
// session's processes, and the hosts' own files (tmpfs).
func (f *Fleet) Memory(ctx context.Context) (int64, error) {
	out, err := docker(ctx, append([]string{"stats", "--no-stream", "--format", "{{.Name}} {{.MemUsage}}"}, f.Containers...)...)
	if err != nil {
		return 0, err
	}
	var total int64
	for line := range strings.Lines(out) {
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		n, err := parseSize(fields[1])
		if err != nil {
			return 0, fmt.Errorf("docker stats of %s: %w", fields[0], err)
		}
		total += n
	}
	return total, nil
}

// parseSize reads docker's sizes: 12.5MiB, 980KiB, 1.2GiB, 512B.
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   float64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"kB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseFloat(num, 64)
			if err != nil {
				return 0, fmt.Errorf("size %q: %w", s, err)
			}
			return int64(v * u.mult), nil
		}
	}
	return 0, fmt.Errorf("size %q has no unit docker uses", s)
}
