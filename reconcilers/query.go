package reconcilers

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/optimus-cm/optimus/transport"
)

// Query is a read-only shell command. Queries with the same Key are run once
// per host per cycle and their result is shared by every resource, so
// reconcilers of different kinds that need the same data use the same Key and
// Script (see the Query* values of this package).
type Query struct {
	Key    string
	Script string
	// Paths, set by PathsQuery, lets the engine merge the path queries of
	// every kind on a host into one command.
	Paths []PathRequest
}

// Facts are the results of a cycle's queries on one host, by Key. Output
// that many resources read (getent passwd, the paths query) is parsed once
// per cycle through Parsed, not once per resource.
type Facts struct {
	*factStore
	// scope is the kind whose private queries this view sees; empty for
	// the engine's own view.
	scope string
}

type factStore struct {
	shared  map[string]transport.Result
	private map[string]map[string]transport.Result // by kind, then Key
	mu      sync.Mutex
	memo    map[memoKey]any
	keys    map[[2]string][]string // memoKeys: by scope and prefix
}

// memoKey names a parsed value: the query's key, the kind whose private
// query it is ("" for a shared one), and the parsed type.
type memoKey struct {
	scope, key string
	typ        reflect.Type
}

// NewFacts wraps the results of shared queries by Key; tests use it to plan
// from canned output. Add records more.
func NewFacts(results map[string]transport.Result) *Facts {
	if results == nil {
		results = map[string]transport.Result{}
	}
	return &Facts{factStore: &factStore{shared: results, private: map[string]map[string]transport.Result{}, memo: map[memoKey]any{}}}
}

// Add records the result of the query with key run for scope: a kind for
// the kind's private queries, "" for a shared one (Registry.QueryScope).
// It is not safe for use while the facts are read.
func (f *Facts) Add(scope, key string, r transport.Result) {
	f.keys = nil // a key list memoized before no longer holds
	if scope == "" {
		f.shared[key] = r
		return
	}
	if f.private[scope] == nil {
		f.private[scope] = map[string]transport.Result{}
	}
	f.private[scope][key] = r
}

// For returns the view of kind: its private queries by their own Key, and
// the shared ones. Views share parsed values.
func (f *Facts) For(kind string) *Facts { return &Facts{factStore: f.factStore, scope: kind} }

// lookup finds key in this view, the kind's private queries first; private
// tells which, for memoizing.
func (f *Facts) lookup(key string) (r transport.Result, private, ok bool) {
	if r, ok := f.private[f.scope][key]; ok && f.scope != "" {
		return r, true, true
	}
	r, ok = f.shared[key]
	return r, false, ok
}

// Get returns the result of the query with key, which must have been declared.
func (f *Facts) Get(key string) (transport.Result, error) {
	r, _, ok := f.lookup(key)
	if !ok {
		return transport.Result{}, fmt.Errorf("query %q was not declared by the reconciler", key)
	}
	return r, nil
}

// Stdout returns the standard output of a query that must have exited 0.
func (f *Facts) Stdout(key string) (string, error) {
	r, err := f.Get(key)
	if err != nil {
		return "", err
	}
	if r.ExitCode != 0 {
		return "", fmt.Errorf("query %s exited %d: %s", key, r.ExitCode, firstLine(r.Stderr))
	}
	if err := checkOutput(key, r); err != nil {
		return "", err
	}
	return string(r.Stdout), nil
}

// Keys lists the keys that start with prefix, sorted.
func (f *Facts) Keys(prefix string) []string {
	var keys []string
	for k := range f.shared {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	if f.scope != "" {
		for k := range f.private[f.scope] {
			if strings.HasPrefix(k, prefix) {
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return slices.Compact(keys)
}

// memoKeys is Keys computed once per view and prefix; callers must not
// change the slice.
func (f *Facts) memoKeys(prefix string) []string {
	k := [2]string{f.scope, prefix}
	f.mu.Lock()
	defer f.mu.Unlock()
	if keys, ok := f.keys[k]; ok {
		return keys
	}
	keys := f.Keys(prefix)
	if f.keys == nil {
		f.keys = map[[2]string][]string{}
	}
	f.keys[k] = keys
	return keys
}

// Parsed returns parse(stdout of key), computed once per Facts: every
// resource of a host shares the parsed value. For one key and result type,
// callers must pass the same parse function.
func Parsed[T any](f *Facts, key string, parse func(stdout string) (T, error)) (T, error) {
	return parsed(f, key, func(b []byte) (T, error) { return parse(string(b)) })
}

// parsed is Parsed for a parser of bytes, which must not keep b: the
// output is then not copied. Reconcilers read their facts through it many
// times per host and cycle (FindPath once per path), so the memo is found
// without formatting a key.
func parsed[T any](f *Facts, key string, parse func(b []byte) (T, error)) (T, error) {
	var zero T
	mk := memoKey{key: key, typ: reflect.TypeFor[T]()}
	r, private, ok := f.lookup(key)
	if private {
		mk.scope = f.scope
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if v, ok := f.memo[mk]; ok {
		return v.(T), nil
	}
	if !ok {
		return zero, fmt.Errorf("query %q was not declared by the reconciler", key)
	}
	if r.ExitCode != 0 {
		return zero, fmt.Errorf("query %s exited %d: %s", key, r.ExitCode, firstLine(r.Stderr))
	}
	if err := checkOutput(key, r); err != nil {
		return zero, err
	}
	v, err := parse(r.Stdout)
	if err != nil {
		return zero, err
	}
	f.memo[mk] = v
	return v, nil
}

func firstLine(b []byte) string {
	for i, c := range b {
		if c == '\n' {
			return string(b[:i])
		}
	}
	return string(b)
}
