package reconcilers

// PathRequests is the query of a kind whose resources live at paths. It
// only lists them: the engine merges the path requests of every kind on a
// host into one PathsQuery, so a script built per kind would be thrown
// away. Run PathsQuery(reqs) to inspect the paths outside the engine.
func PathRequests(reqs []PathRequest) Query { return Query{Paths: reqs} }
