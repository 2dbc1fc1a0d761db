package reconcilers

import (
	"strconv"
	"strings"
)

// PasswdEntry is one line of getent passwd.
type PasswdEntry struct {
	Name    string
	UID     int
	GID     int
	Comment string
	Home    string
	Shell   string
}

// GroupEntry is one line of getent group.
type GroupEntry struct {
	Name    string
	GID     int
	Members []string
}

// ParsePasswd parses getent passwd output, keyed by user name. Malformed
// lines are skipped: they are the host's business, not ours.
func ParsePasswd(out string) map[string]PasswdEntry {
	m := map[string]PasswdEntry{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Split(line, ":")
		if len(f) != 7 {
			continue
		}
		uid, err1 := strconv.Atoi(f[2])
		gid, err2 := strconv.Atoi(f[3])
		if err1 != nil || err2 != nil {
			continue
		}
		m[f[0]] = PasswdEntry{Name: f[0], UID: uid, GID: gid, Comment: f[4], Home: f[5], Shell: f[6]}
	}
	return m
}

// ParseGroup parses getent group output, keyed by group name.
func ParseGroup(out string) map[string]GroupEntry {
	m := map[string]GroupEntry{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Split(line, ":")
		if len(f) != 4 {
			continue
		}
		gid, err := strconv.Atoi(f[2])
		if err != nil {
			continue
		}
		var members []string
		if f[3] != "" {
			members = strings.Split(f[3], ",")
		}
		m[f[0]] = GroupEntry{Name: f[0], GID: gid, Members: members}
	}
	return m
}

// ParseShadow returns the password hash field of each user of getent shadow.
func ParseShadow(out string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Split(line, ":")
		if len(f) < 2 {
			continue
		}
		m[f[0]] = f[1]
	}
	return m
}

// Passwd returns the parsed getent passwd of the host, parsed once per cycle.
func Passwd(f *Facts) (map[string]PasswdEntry, error) {
	return Parsed(f, QueryPasswd.Key, func(out string) (map[string]PasswdEntry, error) { return ParsePasswd(out), nil })
}

// Groups returns the parsed getent group of the host, parsed once per cycle.
func Groups(f *Facts) (map[string]GroupEntry, error) {
	return Parsed(f, QueryGroup.Key, func(out string) (map[string]GroupEntry, error) { return ParseGroup(out), nil })
}

// Shadow returns the password hashes of getent shadow, parsed once per cycle.
func Shadow(f *Facts) (map[string]string, error) {
	return Parsed(f, QueryShadow.Key, func(out string) (map[string]string, error) { return ParseShadow(out), nil })
}
