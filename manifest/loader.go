package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
	sigsyaml "sigs.k8s.io/yaml"

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
	// the manifests: desired state written as code, given the host, and
	// checked exactly like YAML. A declared resource without a hostSelector
	// applies to its host only.
	Declare func(h *v1alpha1.Host) ([]*v1alpha1.Resource, error)
}

// loaded is a decoded document with what the whole-set checks need.
type loaded struct {
	res  *v1alpha1.Resource
	file string     // as shown in errors
	root *yaml.Node // the document's mapping, for lines of fields
}

// load is the state of one Load call.
type load struct {
	l        *Loader
	errs     ErrorList
	docs     []*loaded
	declared map[v1alpha1.ResourceRef]string // ref -> "file:line" of its first definition
	seen     map[string]bool                 // absolute paths already read
	stdin    bool
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
	if l.Declare != nil && len(st.errs) == 0 {
		st.declare()
	}
	set := st.checkSet()
	if len(st.errs) > 0 {
		sortErrors(st.errs)
		return nil, st.errs
	}
	return set, nil
}

// declare loads what Declare returns for each Host as YAML documents, so
// that code-declared resources pass every check manifests pass.
func (st *load) declare() {
	var hosts []*v1alpha1.Host
	for _, d := range st.docs {
		if h, ok := d.res.AsHost(); ok {
			hosts = append(hosts, h)
		}
	}
	dir, _ := os.Getwd()
	for _, h := range hosts {
		name := "<declared in Go for host " + h.Metadata.Name + ">"
		resources, err := st.l.Declare(h)
		if err != nil {
			st.addErr(name, 0, "", "", err.Error())
			continue
		}
		var data []byte
		for _, r := range resources {
			if r == nil || r.Spec == nil {
				st.addErr(name, 0, "", "", "a declared resource has no spec")
				continue
			}
			if t := r.Targeting(); t != nil && t.HostSelector == nil {
				t.HostSelector = &v1alpha1.LabelSelector{MatchLabels: map[string]string{v1alpha1.LabelHostName: h.Metadata.Name}}
			}
			b, err := sigsyaml.Marshal(r)
			if err != nil {
				st.addErr(name, 0, r.ID(), "", err.Error())
				continue
			}
			data = append(append(data, "---\n"...), b...)
		}
		st.loadData(name, name, dir, data)
	}
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

// chunk is one YAML document of a file; its first line is line first of the file.
type chunk struct {
	text  []byte
	first int
}

var docMarkerRe = regexp.MustCompile(`^(---|\.\.\.)(\s|$)`)

// splitDocuments cuts a file at document markers. The marker itself is
// blanked rather than dropped, so that a document's lines keep their numbers
// relative to the chunk's first line, and content after "--- " stays put.
func splitDocuments(data []byte) []chunk {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	lines := bytes.SplitAfter(data, []byte("\n"))
	var chunks []chunk
	cur := chunk{first: 1}
	for i, line := range lines {
		if docMarkerRe.Match(line) {
			chunks = append(chunks, cur)
			blank := append(bytes.Repeat([]byte(" "), 3), line[3:]...)
			if line[0] == '.' {
				blank = []byte("\n")
			}
			cur = chunk{first: i + 1, text: blank}
			continue
		}
		cur.text = append(cur.text, line...)
	}
	return append(chunks, cur)
}

var (
	yamlLineRe      = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	parserProblemRe = regexp.MustCompile(`^(did not find expected|found duplicate %|found incompatible|found undefined tag)`)
)

func (st *load) loadData(file, origin, dir string, data []byte) {
	for _, c := range splitDocuments(data) {
		var doc yaml.Node
		if err := yaml.Unmarshal(c.text, &doc); err != nil {
			line, msg := syntaxError(c, err)
			st.addErr(file, line, "", "", msg)
			continue
		}
		if doc.Kind == 0 || len(doc.Content) == 0 {
			continue // only comments and blank lines
		}
		shiftLines(&doc, c.first-1)
		st.document(file, origin, dir, doc.Content[0])
	}
}

// syntaxError locates a YAML parse error in the file and rewords the common
// cause that YAML's own message hides: tabs used for indentation.
func syntaxError(c chunk, err error) (int, string) {
	for i, line := range bytes.Split(c.text, []byte("\n")) {
		indent := line[:len(line)-len(bytes.TrimLeft(line, " \t"))]
		rest := bytes.TrimSpace(line)
		if bytes.IndexByte(indent, '\t') >= 0 && len(rest) > 0 && rest[0] != '#' {
			return c.first + i, "tabs are not allowed for indentation; use spaces"
		}
	}
	msg := err.Error()
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		if parserProblemRe.MatchString(m[2]) {
			// The parser reports the 0-based line where the enclosing
			// construct starts; the first line after which the text stops
			// parsing is usually where the mistake is.
			n = firstFailingLine(c.text, n+1)
		}
		return c.first + n - 1, "invalid YAML: " + m[2]
	}
	return c.first, "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")
}

// firstFailingLine returns the first line, from line from on, at which the
// text up to and including it fails to parse; from when none is found nearby.
func firstFailingLine(text []byte, from int) int {
	lines := bytes.SplitAfter(text, []byte("\n"))
	var n yaml.Node
	for l := max(from, 1); l <= len(lines) && l < from+50 && len(text) < 1<<16; l++ {
		if yaml.Unmarshal(bytes.Join(lines[:l], nil), &n) != nil {
			return l
		}
	}
	return from
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
				conv.convert(fields[key], nil, key)
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
	metaOK := st.decode(conv, fields["metadata"], "metadata", &res.Metadata, func(line int, msg string) { report(line, "metadata", msg) }, root.Line)
	specOK := st.decode(conv, fields["spec"], "spec", res.Spec, func(line int, msg string) { report(line, "spec", msg) }, root.Line)
	if !metaOK || !specOK || len(errs) > before {
		return
	}
	if d, ok := res.Spec.(v1alpha1.Defaulter); ok {
		d.Default(&res.Metadata)
	}
	at := func(path, msg string) { report(lineOf(root, path), path, msg) }
	validateStruct(&res.Metadata, "metadata", at)
	metaValid := len(errs) == before
	validateStruct(res.Spec, "spec", func(path, msg string) {
		// A bad metadata.name breaks the defaults copied from it; only
		// report what the user wrote.
		if _, found := locate(root, path); metaValid || found {
			at(path, msg)
		}
	})
	runChecks(res.Spec, "spec", at)
	resolvePaths(res, at)
	if len(errs) > 0 {
		return
	}
	st.docs = append(st.docs, &loaded{res: res, file: file, root: root})
}

func (st *load) scalarString(conv *converter, n *yaml.Node, path string) (string, bool) {
	if n == nil {
		return "", false
	}
	v, ok := conv.convert(n, reflect.TypeFor[string](), path)
	s, _ := v.(string)
	return s, ok && s != ""
}

// decode checks node against out's type and decodes it into out.
func (st *load) decode(conv *converter, n *yaml.Node, path string, out any, fail func(line int, msg string), line int) bool {
	if n == nil {
		return true
	}
	v, ok := conv.convert(n, reflect.TypeOf(out), path)
	if !ok {
		return false
	}
	if v == nil {
		return true
	}
	b, err := json.Marshal(v)
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		err = dec.Decode(out)
	}
	if err != nil {
		fail(line, err.Error())
		return false
	}
	return true
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
