package reconcilers

import (
	"fmt"
	"strings"

	"github.com/dustin/go-humanize"

	"github.com/optimus-cm/optimus/transport"
)

// Limits on what observe reads from a host. A user of the host controls
// some of these files (a crontab, ~/.ssh/authorized_keys, a file in their
// home that a File manages): each read is bounded on the host (a size from
// stat or find is checked before reading, head -c stops a file that grows
// meanwhile) and again when parsed, so that one huge or sparse file costs
// neither the memory of Optimus nor the other hosts their run.
const (
	// ReadLimit is the largest small configuration file a kind reads
	// whole: authorized_keys, a crontab or /etc/cron.d file, a sysctl.d
	// file, /etc/fstab, /etc/os-release.
	ReadLimit = 1 << 20
	// ChecksumLimit is the largest file whose sha256 a path query
	// computes: hashing a sparse file of a terabyte would take the host
	// minutes. A larger file has no SHA256 in its PathInfo.
	ChecksumLimit = 1 << 30
)

// TooLargeError is what a kind returns when data on a host is larger than
// Optimus reads.
type TooLargeError struct {
	// What names the data: a path, "the output of query cron".
	What string
	// Size is how large it is; 0 when only known to be over Limit.
	Size  int64
	Limit int64
	// Hint says what to do.
	Hint string
}

func (e *TooLargeError) Error() string {
	size := "larger than that"
	if e.Size > 0 {
		size = Size(e.Size)
	}
	msg := fmt.Sprintf("%s is %s, more than the %s Optimus reads", e.What, size, Size(e.Limit))
	if e.Size <= 0 {
		msg = fmt.Sprintf("%s is larger than the %s Optimus reads", e.What, Size(e.Limit))
	}
	if e.Hint != "" {
		msg += "; " + e.Hint
	}
	return msg
}

// Size writes a byte count for people: "300 MiB", "1 MiB", "1.5 KiB".
func Size(n int64) string {
	if n < 0 {
		n = 0
	}
	return strings.Replace(humanize.IBytes(uint64(n)), ".0 ", " ", 1)
}

// checkOutput fails a query whose output the transport cut at its limit.
func checkOutput(key string, r transport.Result) error {
	if !r.Truncated {
		return nil
	}
	return &TooLargeError{What: "the output of query " + key, Size: r.StdoutSize, Limit: int64(len(r.Stdout)),
		Hint: "the host holds more data than this kind expects; look at what the query reads on the host"}
}
