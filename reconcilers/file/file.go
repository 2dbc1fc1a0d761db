package file

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
)

// DiffLimit is the largest file whose current content is read back to show a
// diff; larger files, and sensitive ones, are compared by checksum only.
const DiffLimit = 64 << 10

// MaxContent is the largest content a File writes. It stays below
// reconcilers.ChecksumLimit, so that a file Optimus wrote is always
// compared by checksum, and a file on a host larger than that limit (which
// is never read) is known to differ from any content a File has.
const MaxContent = 256 << 20

// Reconciler reconciles File resources.
type Reconciler struct{}

var (
	_ reconcilers.TypedReconciler[v1alpha1.FileSpec]       = Reconciler{}
	_ reconcilers.TypedDependencyLister[v1alpha1.FileSpec] = Reconciler{}
	_ reconcilers.SharedQuerier                            = Reconciler{}
	_ reconcilers.TypedHostChecker[v1alpha1.FileSpec]      = Reconciler{}
)

// CheckHost renders a Go template for host before any host is touched, so
// that a var the host does not have fails optimus validate at the line of
// content or source. Facts are not known then: failures that may come from
// them are left to the plan.
func (Reconciler) CheckHost(obj reconcilers.Object[v1alpha1.FileSpec], host *v1alpha1.Host) []v1alpha1.FieldError {
	s := obj.Spec
	if !s.Template.On() || s.Template.Engine != v1alpha1.TemplateGo || s.State == v1alpha1.StateAbsent {
		return nil
	}
	field := "content"
	if s.Content == nil {
		field = "source"
	}
	_, _, err := Render(host, nil, obj)
	var re *RenderError
	if errors.As(err, &re) && re.MissingKey() {
		return []v1alpha1.FieldError{{Path: field, Message: re.Error()}}
	}
	var pe *ParseError
	if errors.As(err, &pe) {
		return []v1alpha1.FieldError{{Path: field, Message: pe.Error()}}
	}
	return nil
}

// SharedQueries declares the facts query, which templates read.
func (Reconciler) SharedQueries() []reconcilers.Query {
	return []reconcilers.Query{reconcilers.QueryFacts}
}

// Kind implements reconcilers.Reconciler.
func (Reconciler) Kind() string { return v1alpha1.FileKind.Kind }

// Queries inspects every file of the host in one command; the content of
// small, non-sensitive files comes back for the diff. Templates add the
// host's facts.
func (Reconciler) Queries(_ *v1alpha1.Host, objs []reconcilers.Object[v1alpha1.FileSpec]) []reconcilers.Query {
	var qs []reconcilers.Query
	for _, o := range objs {
		if o.Spec.Template.On() && o.Spec.State != v1alpha1.StateAbsent {
			qs = append(qs, reconcilers.QueryFacts)
			break
		}
	}
	reqs := make([]reconcilers.PathRequest, len(objs))
	for i, o := range objs {
		s := o.Spec
		reqs[i] = reconcilers.PathRequest{Path: s.Path, Sensitive: s.Sensitive}
		if !s.Sensitive && s.State != v1alpha1.StateAbsent {
			reqs[i].ContentLimit = DiffLimit
			// The content only feeds the diff: none is needed when the file
			// already has what it should. A template's content depends on
			// facts not read yet, so it is always fetched.
			if content, managed, err := Desired(nil, o); err == nil && managed && !s.Template.On() {
				sum := sha256.Sum256(content)
				reqs[i].ContentUnless = hex.EncodeToString(sum[:])
			}
		}
	}
	return append(qs, reconcilers.PathRequests(reqs))
}

// Dependencies orders a file after the Directory resources that hold it and
// the User and Group resources that own it.
func (Reconciler) Dependencies(obj reconcilers.Object[v1alpha1.FileSpec], all []*v1alpha1.Resource) []v1alpha1.ResourceRef {
	s := obj.Spec
	if s.State == v1alpha1.StateAbsent {
		return nil
	}
	return append(reconcilers.DirectoryDependencies(s.Path, all), reconcilers.AccountDependencies(s.Owner, s.Group, all)...)
}

// Plan implements reconcilers.Reconciler.
func (Reconciler) Plan(_ context.Context, req reconcilers.TypedRequest[v1alpha1.FileSpec]) ([]reconcilers.Action, error) {
	s := req.Spec
	cur, err := reconcilers.FindPath(req.Facts, s.Path)
	if err != nil {
		return nil, err
	}
	if s.State == v1alpha1.StateAbsent {
		switch {
		case !cur.Exists:
			return nil, nil
		case cur.Type == reconcilers.TypeDirectory:
			return nil, fmt.Errorf("%s is a directory, not a file: remove it with a Directory resource (state: absent)", s.Path)
		}
		return []reconcilers.Action{{
			Op:          reconcilers.OpDelete,
			Description: "delete file " + s.Path,
			Changes:     []reconcilers.Change{{Field: "state", Before: "present", After: "absent"}},
			Script:      reconcilers.GuardedCommand(s.Path, "rm", "-f", "--", s.Path),
		}}, nil
	}
	if cur.Exists && cur.Type != reconcilers.TypeFile {
		return nil, fmt.Errorf("%s is %s, not a regular file: remove it first (File does not replace it)", s.Path, cur.Describe())
	}
	if err := cur.CheckOwner(s.Owner); err != nil {
		return nil, err
	}
	var facts *v1alpha1.HostFacts
	if s.Template.On() {
		if facts, err = reconcilers.HostFactsOf(req.Facts); err != nil {
			return nil, err
		}
	}
	content, managed, err := Render(req.Host, facts, req.Object())
	if err != nil {
		return nil, err
	}
	secrets := func() []string {
		if s.Sensitive && len(content) > 0 {
			return []string{string(content)}
		}
		return nil
	}
	inPlace := ""
	if cur.MountPoint {
		inPlace = " (in place: it is a mount point, which rename cannot replace)"
	}

	if !cur.Exists {
		mode := s.Mode
		if mode == "" {
			mode = "0644"
		}
		m, err := reconcilers.ParseMode(mode)
		if err != nil {
			return nil, fmt.Errorf("spec.mode: %w", err)
		}
		mode = reconcilers.OctalMode(m)
		changes := []reconcilers.Change{contentChange(s, cur, content)}
		changes = append(changes, reconcilers.Change{Field: "mode", After: mode})
		if s.Owner != "" {
			changes = append(changes, reconcilers.Change{Field: "owner", After: s.Owner})
		}
		if s.Group != "" {
			changes = append(changes, reconcilers.Change{Field: "group", After: s.Group})
		}
		script, stdin := writeScript(s, mode, reconcilers.Ownership(s.Owner, s.Group), content)
		return []reconcilers.Action{{
			Op:          reconcilers.OpCreate,
			Description: "create file " + s.Path + validated(s),
			Changes:     changes,
			Diff:        diff(s, cur, content),
			Script:      script,
			Stdin:       stdin,
			Secrets:     secrets(),
		}}, nil
	}

	attrs, chmod, chown, err := reconcilers.AttributeDrift(cur, s.Mode, s.Owner, s.Group)
	if err != nil {
		return nil, fmt.Errorf("spec.mode: %w", err)
	}
	if managed && checksum(content) != cur.SHA256 {
		// The new content goes to a new inode: it gets the wanted attributes,
		// or the current ones where the spec leaves them alone.
		mode := chmod
		if mode == "" {
			mode = cur.ModeString()
		}
		owner, group := s.Owner, s.Group
		// Under a directory another user controls, the action runs as that
		// user, who can give the new file only their own ownership.
		if owner == "" && cur.Control.Root() {
			owner = strconv.Itoa(cur.UID)
		}
		if group == "" && cur.Control.Root() {
			group = strconv.Itoa(cur.GID)
		}
		changes := append([]reconcilers.Change{contentChange(s, cur, content)}, attrs...)
		script, stdin := writeScript(s, mode, reconcilers.Ownership(owner, group), content)
		return []reconcilers.Action{{
			Op:          reconcilers.OpUpdate,
			Description: "update " + reconcilers.ChangedFields(changes) + " of file " + s.Path + validated(s) + inPlace,
			Changes:     changes,
			Diff:        diff(s, cur, content),
			Script:      script,
			Stdin:       stdin,
			Secrets:     secrets(),
		}}, nil
	}
	if len(attrs) == 0 {
		return nil, nil
	}
	if err := cur.CheckAttributes(); err != nil {
		return nil, err
	}
	return []reconcilers.Action{{
		Op:          reconcilers.OpUpdate,
		Description: "change " + reconcilers.ChangedFields(attrs) + " of file " + s.Path,
		Changes:     attrs,
		Script:      reconcilers.AttributesScript(s.Path, chmod, chown),
	}}, nil
}

// validated tells, in a description, that the new content is checked first.
func validated(s *v1alpha1.FileSpec) string {
	if s.Validate == "" {
		return ""
	}
	return " (validated by " + s.Validate + ")"
}

// Desired returns the content the file must have; managed is false when the
// spec sets neither content nor source (only existence and attributes).
// Templates that read .Facts need Render.
func Desired(host *v1alpha1.Host, obj reconcilers.Object[v1alpha1.FileSpec]) (content []byte, managed bool, err error) {
	return Render(host, nil, obj)
}

// Render is Desired with the host's facts for templates.
func Render(host *v1alpha1.Host, facts *v1alpha1.HostFacts, obj reconcilers.Object[v1alpha1.FileSpec]) (content []byte, managed bool, err error) {
	s, res := obj.Spec, obj.Resource
	switch {
	case s.Content != nil:
		content = []byte(*s.Content)
	case s.Source != "":
		src := s.Source
		if !filepath.IsAbs(src) {
			src = filepath.Join(res.Origin.Dir, src)
		}
		if content, err = os.ReadFile(src); err != nil {
			return nil, false, fmt.Errorf("spec.source: %w", err)
		}
	default:
		return nil, false, nil
	}
	if len(content) > MaxContent {
		return nil, false, fmt.Errorf("the content is %s, more than the %s a File holds", reconcilers.Size(int64(len(content))), reconcilers.Size(MaxContent))
	}
	if !s.Template.On() {
		return content, true, nil
	}
	if facts == nil {
		facts = &v1alpha1.HostFacts{}
	}
	var name string
	var labels map[string]string
	vars := map[string]any{}
	if host != nil {
		name, labels = host.Metadata.Name, host.Metadata.Labels
		if host.Spec != nil && host.Spec.Vars != nil {
			vars = host.Spec.Vars
		}
	}
	if s.Template.Engine == v1alpha1.TemplateJinja2 {
		return renderJinja(string(content), name, labels, vars, facts)
	}
	data := TemplateData{Host: TemplateHost{Name: name, Labels: labels}, Vars: vars, Facts: facts}
	out, err := renderGo(s, content, data)
	if err != nil {
		return nil, false, err
	}
	return out, true, nil
}

// TemplateData is what a File template sees.
type TemplateData struct {
	Host TemplateHost
	Vars map[string]any
	// Facts are the host's facts: {{ .Facts.OS.ID }}, {{ .Facts.CPUs }}.
	Facts *v1alpha1.HostFacts
}

// TemplateHost describes the target host to a template.
type TemplateHost struct {
	Name   string
	Labels Labels
}

// Labels are a host's labels in a template. A host has a label or not, so
// index .Host.Labels "name" is "" for a label the host does not have
// ({{ if index .Host.Labels "canary" }}), where a missing var is an error.
type Labels map[string]string

func checksum(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// summary describes content without showing it.
func summary(sha string, size int64, binary bool) string {
	kind := ""
	if binary {
		kind = "binary, "
	}
	if len(sha) > 12 {
		sha = sha[:12]
	}
	return fmt.Sprintf("%s%d bytes, sha256:%s", kind, size, sha)
}

func contentChange(s *v1alpha1.FileSpec, cur reconcilers.PathInfo, content []byte) reconcilers.Change {
	if s.Sensitive {
		c := reconcilers.Change{Field: "content", After: reconcilers.Redacted}
		if cur.Exists {
			c.Before = reconcilers.Redacted
		}
		return c
	}
	c := reconcilers.Change{Field: "content",
		After: summary(checksum(content), int64(len(content)), !reconcilers.IsText(content))}
	switch {
	case cur.Exists && cur.SHA256 == "" && cur.Size > reconcilers.ChecksumLimit:
		c.Before = fmt.Sprintf("%s, not read (larger than the %s Optimus checksums)", reconcilers.Size(cur.Size), reconcilers.Size(reconcilers.ChecksumLimit))
	case cur.Exists:
		c.Before = summary(cur.SHA256, cur.Size, cur.HasContent && !reconcilers.IsText(cur.Content))
	}
	return c
}

// diff shows text changes; a sensitive, binary or large file has none.
func diff(s *v1alpha1.FileSpec, cur reconcilers.PathInfo, content []byte) string {
	if s.Sensitive || len(content) > DiffLimit || !reconcilers.IsText(content) {
		return ""
	}
	var old []byte
	if cur.Exists {
		if !cur.HasContent || !reconcilers.IsText(cur.Content) {
			return ""
		}
		old = cur.Content
	}
	return reconcilers.UnifiedDiff(s.Path, string(old), string(content))
}

// writeScript is the script that writes content to s.Path, and its
// standard input: small content that is not secret and that every user may
// read anyway (mode o+r) travels in the script, which starts fewer
// processes on the host; the rest, and every secret, on standard input.
// Readable by all, because a write run as another user passes its script
// to sh -c, where ps shows it.
func writeScript(s *v1alpha1.FileSpec, mode, ownership string, content []byte) (string, []byte) {
	m, err := reconcilers.ParseMode(mode)
	if err == nil && m&0o004 != 0 && reconcilers.InlineContent(content, s.Sensitive) {
		return reconcilers.ValidatedWriteContentScript(s.Path, mode, ownership, s.Validate, content), nil
	}
	return reconcilers.ValidatedWriteScript(s.Path, mode, ownership, s.Validate), content
}
