package manifest

import (
	"fmt"
	"os"
	"reflect"
	"strings"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

// declare adds what Declare returns for each Host. The resources are Go
// values: they are checked as values (kind, spec type, defaults, validation,
// paths) and their errors name the host they were declared for, not lines
// of a manifest nobody wrote. Relative paths resolve against the working
// directory.
func (st *load) declare() {
	var hosts []*v1alpha1.Host
	for _, d := range st.docs {
		if h, ok := d.res.AsHost(); ok {
			hosts = append(hosts, h)
		}
	}
	dir, _ := os.Getwd()
	owner := map[any]string{} // spec pointer -> host it was declared for
	for _, h := range hosts {
		origin := "desired state for host " + h.Metadata.Name + " (Go)"
		resources, err := st.l.Declare(h)
		if err != nil {
			st.addErr(origin, 0, "", "", err.Error())
			continue
		}
		for i, r := range resources {
			if r != nil && r.Spec != nil && reflect.TypeOf(r.Spec).Kind() == reflect.Pointer {
				// The loader fills in defaults, the host selector and
				// absolute paths in the value itself.
				if prev, shared := owner[r.Spec]; shared {
					st.addErr(origin, 0, r.ID(), "spec", "the same spec value was already returned for host "+prev+"; return a new value for each host")
					continue
				}
				owner[r.Spec] = h.Metadata.Name
			}
			st.declared1(h, origin, dir, i, r)
		}
	}
}

// declared1 checks one resource declared in Go for host h.
func (st *load) declared1(h *v1alpha1.Host, origin, dir string, i int, r *v1alpha1.Resource) {
	if r == nil {
		st.addErr(origin, 0, "", "", fmt.Sprintf("resource %d is nil", i))
		return
	}
	id := r.ID()
	fail := func(field, msg string) { st.addErr(origin, 0, id, field, msg) }
	kt, known := st.l.Scheme.Lookup(r.Kind)
	switch {
	case r.Kind == "":
		fail("kind", "is required; one of: "+strings.Join(st.kindNames(), ", "))
		return
	case !known:
		fail("kind", fmt.Sprintf("unknown kind %q%s", r.Kind, didYouMean(r.Kind, st.kindNames())))
		return
	case r.APIVersion == "":
		r.APIVersion = kt.APIVersion
	case r.APIVersion != kt.APIVersion:
		fail("apiVersion", fmt.Sprintf("kind %s is served by %s, not %s", r.Kind, kt.APIVersion, r.APIVersion))
		return
	}
	want := reflect.TypeOf(kt.NewSpec())
	if r.Spec == nil || reflect.TypeOf(r.Spec) != want || reflect.ValueOf(r.Spec).IsNil() {
		fail("spec", fmt.Sprintf("must be a non-nil %s, not %T", want, r.Spec))
		return
	}
	if _, isHost := r.Spec.(*v1alpha1.HostSpec); isHost {
		fail("kind", "Hosts come from the manifests; desired state in Go adds resources to a host")
		return
	}
	if t := r.Targeting(); t != nil && t.HostSelector == nil {
		t.HostSelector = &v1alpha1.LabelSelector{MatchLabels: map[string]string{v1alpha1.LabelHostName: h.Metadata.Name}}
	}
	r.Origin = v1alpha1.Origin{File: origin, Dir: dir}
	valid := checkResource(r, fail, func(string) bool { return true })
	if r.Metadata.Name != "" {
		ref := r.Ref()
		if prev, dup := st.declared[ref]; dup {
			fail("metadata.name", fmt.Sprintf("duplicate %s: also defined at %s", ref, prev))
			return
		}
		st.declared[ref] = origin
	}
	if valid {
		st.docs = append(st.docs, &loaded{res: r, file: origin})
	}
}
