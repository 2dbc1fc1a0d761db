package v1alpha1

import (
	"fmt"
	"strconv"
	"strings"
)

// cronShortcuts are the @ forms cron understands in place of five fields.
var cronShortcuts = []string{"@reboot", "@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}

type cronField struct {
	name     string
	min, max int
	names    []string // names[i] stands for min+i
}

var cronFields = []cronField{
	{name: "minute", min: 0, max: 59},
	{name: "hour", min: 0, max: 23},
	{name: "day of month", min: 1, max: 31},
	{name: "month", min: 1, max: 12, names: []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}},
	// 0 and 7 are both Sunday.
	{name: "day of week", min: 0, max: 7, names: []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}},
}

// ParseCronSchedule checks a crontab(5) schedule: five fields or an @
// shortcut. The error names the field and what it allows.
func ParseCronSchedule(s string) error {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "@") {
		for _, sc := range cronShortcuts {
			if s == sc {
				return nil
			}
		}
		return fmt.Errorf("unknown shortcut %q: use one of %s", s, strings.Join(cronShortcuts, ", "))
	}
	f := strings.Fields(s)
	if len(f) != 5 {
		return fmt.Errorf("%q has %d fields: want 5 (minute hour day-of-month month day-of-week, such as \"30 2 * * mon-fri\") or a shortcut such as @daily", s, len(f))
	}
	for i, field := range f {
		if err := cronFields[i].check(field); err != nil {
			return fmt.Errorf("%s field %q: %w", cronFields[i].name, field, err)
		}
	}
	return nil
}

func (c cronField) check(field string) error {
	for _, item := range strings.Split(field, ",") {
		rng, step, hasStep := strings.Cut(item, "/")
		if hasStep {
			n, err := strconv.Atoi(step)
			if err != nil || n < 1 || n > c.max {
				return fmt.Errorf("step %q must be a number from 1 to %d", step, c.max)
			}
		}
		if rng == "*" {
			continue
		}
		lo, hi, isRange := strings.Cut(rng, "-")
		a, err := c.value(lo)
		if err != nil {
			return err
		}
		if !isRange {
			if hasStep {
				return fmt.Errorf("a step needs a range or *: write %s-%d/%s", lo, c.max, step)
			}
			continue
		}
		b, err := c.value(hi)
		if err != nil {
			return err
		}
		if a > b {
			return fmt.Errorf("range %s is backwards", rng)
		}
	}
	return nil
}

func (c cronField) value(v string) (int, error) {
	for i, n := range c.names {
		if strings.EqualFold(v, n) {
			return c.min + i, nil
		}
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < c.min || n > c.max {
		allowed := fmt.Sprintf("a number from %d to %d", c.min, c.max)
		if len(c.names) > 0 {
			allowed += " or a name (" + c.names[0] + "-" + c.names[len(c.names)-1] + ")"
		}
		return 0, fmt.Errorf("%q is not %s", v, allowed)
	}
	return n, nil
}
