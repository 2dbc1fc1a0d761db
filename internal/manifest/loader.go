package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

// StdinName is how errors name manifests read from standard input.
const StdinName = "<stdin>"

// Loader reads manifest files into a validated Set.
type Loader struct {
	// Scheme holds the kinds the loader understands.
	Scheme *v1alpha1.Scheme
	// Stdin is read for the path "-".
	Stdin io.Reader
	// Edges optionally adds implicit dependency edges (e.g. a User after its
	// Groups) for cycle detection; nil means none.
	Edges func(r *v1alpha1.Resource, all []*v1alpha1.Resource) []v1alpha1.ResourceRef
	// Declare, when set, adds resources declared in Go for each Host of
	// the manifests: desired state written as code, given the host. The
	// values pass the checks manifests pass, and their errors name the host
	// ("desired state for host web1 (Go): User/bob: spec.shell: ...").
	// A declared resource without a hostSelector applies to its host only;
	// relative paths resolve against the working directory. The loader
	// fills in defaults and paths in the returned values, so Declare must
	// return new values on each call.
	Declare func(h *v1alpha1.Host) ([]*v1alpha1.Resource, error)
	// CheckHost optionally checks a resource against one host it targets
	// (a template against the host's vars); nil means no such checks.
	// Each problem is reported at the field's line, with the hosts it
	// concerns.
	CheckHost func(res *v1alpha1.Resource, host *v1alpha1.Host) []v1alpha1.FieldError
}

// loaded is a decoded document with what the whole-set checks need.
type loaded struct {
	res  *v1alpha1.Resource
	file string     // as shown in errors
	root *yaml.Node // the document's mapping, for lines of fields
	// templated: the spec reads host variables (${vars.x}); it is checked
	// per host, as each host's variant (expandVars).
	templated bool
	// group is the HostGroup a Host was generated from, member its index.
	group  *loaded
	member int
}

// load is the state of one Load call.
type load struct {
	l        *Loader
	errs     ErrorList
	docs     []*loaded
	declared map[v1alpha1.ResourceRef]string // ref -> "file:line" of its first definition
	vars     map[string][]VarSource          // host -> its variables and where they come from
	seen     map[string]bool                 // absolute paths already read
	stdin    bool
	hosts    *v1alpha1.HostIndex // the set's hosts by label, built by the first check that needs it
}

// Load reads files, directories (recursively, *.yaml and *.yml in lexical
// order) and "-" (standard input), and validates the whole set. When anything
// is wrong the error is an ErrorList holding every problem, sorted by file and
// line, and the Set is nil.
func (l *Loader) Load(paths ...string) (*Set, error) {
	st := &load{l: l, declared: map[v1alpha1.ResourceRef]string{}, seen: map[string]bool{}}
	for _, p := range paths {
		st.loadPath(p)
	}
	st.expandHostGroups()
	st.mergeVars()
	st.expandVars()
	if l.Declare != nil && len(st.errs) == 0 {
		st.declare()
	}
	set := st.checkSet()
	set.vars = st.vars
	if len(st.errs) > 0 {
		sortErrors(st.errs)
		return nil, st.errs
	}
	return set, nil
}

func (st *load) addErr(file string, line int, res, field, msg string) {
	st.errs = append(st.errs, &Error{File: file, Line: line, Resource: res, Field: field, Message: msg})
}

func (st *load) loadPath(p string) {
	if p == "-" {
		if st.stdin {
			return
		}
		st.stdin = true
		if st.l.Stdin == nil {
			st.addErr(StdinName, 0, "", "", "no standard input to read manifests from")
			return
		}
		data, err := io.ReadAll(st.l.Stdin)
		if err != nil {
			st.addErr(StdinName, 0, "", "", "read: "+err.Error())
			return
		}
		dir, _ := os.Getwd()
		st.loadData(StdinName, "-", dir, data)
		return
	}
	info, err := os.Stat(p)
	if err != nil {
		st.addErr(p, 0, "", "", fileErrMessage(err))
		return
	}
	if !info.IsDir() {
		st.loadFile(p)
		return
	}
	found := false
	err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			st.addErr(path, 0, "", "", fileErrMessage(err))
			return nil
		}
		hidden := path != p && strings.HasPrefix(d.Name(), ".")
		if d.IsDir() {
			if hidden {
				return filepath.SkipDir
			}
			return nil
		}
		if ext := filepath.Ext(path); hidden || (ext != ".yaml" && ext != ".yml") {
			return nil
		}
		found = true
		st.loadFile(path)
		return nil
	})
	if err != nil {
		st.addErr(p, 0, "", "", err.Error())
	}
	if !found {
		st.addErr(p, 0, "", "", "no *.yaml or *.yml files in this directory")
	}
}

func fileErrMessage(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	if errors.Is(err, fs.ErrNotExist) {
		return "no such file or directory"
	}
	return err.Error()
}

func (st *load) loadFile(p string) {
	abs, err := filepath.Abs(p)
	if err != nil {
		st.addErr(p, 0, "", "", err.Error())
		return
	}
	if st.seen[abs] {
		return // named twice, for example by a file and its directory
	}
	st.seen[abs] = true
	data, err := os.ReadFile(p)
	if err != nil {
		st.addErr(p, 0, "", "", fileErrMessage(err))
		return
	}
	st.loadData(p, p, filepath.Dir(abs), data)
}

// loadData decodes the YAML stream of one file, document by document, and
// checks each. After a syntax error it resumes at the next document marker,
// so that one broken document does not hide the problems of the others.
func (st *load) loadData(file, origin, dir string, data []byte) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	offset := 0 // lines of the file before data
	for {
		dec := yaml.NewDecoder(bytes.NewReader(data))
		last := 0 // last line of the previous document of data
		for {
			var doc yaml.Node
			err := dec.Decode(&doc)
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				line, msg, next := syntaxError(data, last, err)
				st.addErr(file, offset+line, "", "", msg)
				if next <= 1 {
					return
				}
				data = data[lineStart(data, next):]
				offset += next - 1
				break
			}
			last = lastLine(&doc)
			if len(doc.Content) == 0 || isEmpty(doc.Content[0]) {
				continue // only comments and blank lines
			}
			if offset > 0 {
				shiftLines(&doc, offset)
			}
			st.document(file, origin, dir, doc.Content[0])
		}
	}
}

// isEmpty reports whether a document's root is the implicit null of a
// document with nothing in it ("---" followed by comments).
func isEmpty(root *yaml.Node) bool {
	return root.Kind == yaml.ScalarNode && root.Value == "" && root.Tag == "!!null" && root.Style&yaml.TaggedStyle == 0
}

// lastLine is the last line a node tree mentions.
func lastLine(n *yaml.Node) int {
	line := n.Line
	if len(n.Content) > 0 {
		line = max(line, lastLine(n.Content[len(n.Content)-1]))
	}
	return line
}

func shiftLines(n *yaml.Node, by int) {
	n.Line += by
	for _, c := range n.Content {
		shiftLines(c, by)
	}
}

// document decodes, defaults and validates one document.
func (st *load) document(file, origin, dir string, root *yaml.Node) {
	if root.Kind != yaml.MappingNode {
		st.addErr(file, root.Line, "", "", "a document must be a mapping with apiVersion, kind, metadata and spec, not "+describe(root))
		return
	}
	if st.forEach(file, origin, dir, root) {
		return
	}
	fields := map[string]*yaml.Node{}
	keyLine := map[string]int{}
	var id string
	var errs []*Error
	report := func(line int, path, msg string) {
		errs = append(errs, &Error{File: file, Line: line, Field: path, Message: msg})
	}
	conv := &converter{report: func(n *yaml.Node, path, msg string) { report(n.Line, path, msg) }}
	defer func() {
		for _, e := range errs {
			e.Resource = id
		}
		st.errs = append(st.errs, errs...)
	}()

	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		key, ok := conv.key(k, "")
		if !ok {
			continue
		}
		if line, dup := keyLine[key]; dup {
			report(k.Line, key, fmt.Sprintf("field set twice (first at line %d)", line))
			continue
		}
		keyLine[key] = k.Line
		switch key {
		case "apiVersion", "kind", "metadata", "spec":
			fields[key] = v
		case "status":
			report(k.Line, key, "status is reported by the controller; remove it from the manifest")
		default:
			if !conv.clearText(k, v, key, nil) {
				report(k.Line, key, fmt.Sprintf("unknown field %q%s", key, didYouMean(key, []string{"apiVersion", "kind", "metadata", "spec"})))
			}
		}
	}

	kindName, kindOK := st.scalarString(conv, fields["kind"], "kind")
	apiVersion, apiOK := st.scalarString(conv, fields["apiVersion"], "apiVersion")
	var name string
	if md := fields["metadata"]; md != nil && md.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(md.Content); i += 2 {
			if md.Content[i].Value == "name" && md.Content[i+1].Kind == yaml.ScalarNode {
				name = md.Content[i+1].Value
			}
		}
	}

	kt, known := st.l.Scheme.Lookup(kindName)
	switch {
	case !kindOK:
		if n := fields["kind"]; n == nil || (n.Kind == yaml.ScalarNode && n.Value == "") {
			report(root.Line, "kind", "is required; one of: "+strings.Join(st.kindNames(), ", "))
		}
	case !known:
		report(fields["kind"].Line, "kind", fmt.Sprintf("unknown kind %q%s", kindName, didYouMean(kindName, st.kindNames())))
	default:
		id = kindName
		if name != "" {
			id += "/" + name
		}
	}
	if known && apiOK && apiVersion != kt.APIVersion {
		versions := st.apiVersions()
		msg := fmt.Sprintf("unknown apiVersion %q%s", apiVersion, didYouMean(apiVersion, versions))
		for _, v := range versions {
			if v == apiVersion {
				msg = fmt.Sprintf("kind %s is served by %s, not %s", kindName, kt.APIVersion, apiVersion)
			}
		}
		report(fields["apiVersion"].Line, "apiVersion", msg)
	} else if n := fields["apiVersion"]; known && (n == nil || (n.Kind == yaml.ScalarNode && n.Value == "")) {
		report(root.Line, "apiVersion", "is required: "+kt.APIVersion)
	}

	if !known {
		// Still look for clear-text secrets: they are worth reporting even
		// in a document that cannot be decoded.
		for _, key := range []string{"metadata", "spec"} {
			if fields[key] != nil {
				var scratch any
				conv.decode(fields[key], reflect.ValueOf(&scratch).Elem(), key)
			}
		}
		return
	}
	if name != "" {
		ref := v1alpha1.ResourceRef{Kind: kindName, Name: name}
		if prev, dup := st.declared[ref]; dup {
			report(lineOf(root, "metadata.name"), "metadata.name", fmt.Sprintf("duplicate %s: also defined at %s", ref, prev))
		} else {
			st.declared[ref] = fmt.Sprintf("%s:%d", file, lineOf(root, "metadata.name"))
		}
	}

	res := &v1alpha1.Resource{
		TypeMeta: v1alpha1.TypeMeta{APIVersion: apiVersion, Kind: kindName},
		Spec:     kt.NewSpec(),
		Origin:   v1alpha1.Origin{File: origin, Line: root.Line, Dir: dir},
	}
	before := len(errs)
	if n := fields["metadata"]; n != nil {
		conv.decode(n, reflect.ValueOf(&res.Metadata).Elem(), "metadata")
	}
	if n := fields["spec"]; n != nil {
		conv.decode(n, reflect.ValueOf(res.Spec).Elem(), "spec")
	}
	if len(errs) > before {
		return
	}
	if n := fields["spec"]; n != nil && res.Targeting() != nil && references(n, "vars", perHostFields) {
		// What the spec means depends on the host: it is checked for
		// each host it selects once the hosts' variables are known.
		st.docs = append(st.docs, &loaded{res: res, file: file, root: root, templated: true})
		return
	}
	written := func(path string) bool { _, found := locate(root, path); return found }
	if !checkResource(res, func(path, msg string) { report(lineOf(root, path), path, msg) }, written) || len(errs) > 0 {
		return
	}
	st.docs = append(st.docs, &loaded{res: res, file: file, root: root})
}

func (st *load) scalarString(conv *converter, n *yaml.Node, path string) (string, bool) {
	if n == nil {
		return "", false
	}
	var s string
	ok := conv.decode(n, reflect.ValueOf(&s).Elem(), path)
	return s, ok && s != ""
}

func (st *load) kindNames() []string {
	var names []string
	for _, k := range st.l.Scheme.Kinds() {
		names = append(names, k.Kind)
	}
	return names
}

func (st *load) apiVersions() []string {
	set := map[string]bool{}
	for _, k := range st.l.Scheme.Kinds() {
		set[k.APIVersion] = true
	}
	var out []string
	for v := range set {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}
