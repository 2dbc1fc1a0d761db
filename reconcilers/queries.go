package reconcilers

// Queries shared by several kinds. Using these values (not a copy of the
// script) is what lets the engine run each once per host per cycle.
var (
	QueryPasswd = Query{Key: "getent.passwd", Script: "getent passwd"}
	QueryGroup  = Query{Key: "getent.group", Script: "getent group"}
	// QueryShadow is needed only to compare password hashes; its output never
	// leaves the process.
	QueryShadow = Query{Key: "getent.shadow", Script: "getent shadow"}
)
