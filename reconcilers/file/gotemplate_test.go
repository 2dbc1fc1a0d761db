package file

import (
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
	"github.com/optimus-cm/optimus/reconcilers"
)

// TestGoTemplate renders Go templates for a host: sprig's functions, and a
// missing var is an error naming the template's line, whichever way it is
// read, never "<no value>".
func TestGoTemplate(t *testing.T) {
	host := &v1alpha1.Host{Metadata: v1alpha1.ObjectMeta{Name: "web1", Labels: map[string]string{"role": "web"}},
		Spec: &v1alpha1.HostSpec{Vars: map[string]any{"port": float64(8080), "list": []any{"a", "b"}, "version": "1.24.2",
			"nested": map[string]any{"k": "v"}}}}
	for _, tc := range []struct {
		src, want, wantErr string
		missingKey         bool
	}{
		{src: `{{ .Vars.port }} {{ index .Vars "port" }} {{ index .Vars.list 1 }} {{ index .Vars "nested" "k" }} {{ index .Host.Labels "role" }}`, want: "8080 8080 b v web"},
		{src: `{{ if semverCompare ">=1.20" .Vars.version }}new{{ else }}old{{ end }} {{ .Vars.list | join "," | upper }}`, want: "new A,B"},
		{src: `{{ get .Vars "nope" | default "dflt" }} {{ hasKey .Vars "nope" }}`, want: "dflt false"},
		{src: "x\n{{ .Vars.missing }}", wantErr: `Go template content:2:`, missingKey: true},
		{src: "x\n\n{{ index .Vars \"missing\" }}", wantErr: `Go template content:3:`, missingKey: true},
		{src: `{{ index .Vars "nested" "nope" }}`, wantErr: `map has no entry for key "nope"`, missingKey: true},
		{src: `{{ .Host.Labels.rol }}`, wantErr: `map has no entry for key "rol"`, missingKey: true},
		{src: `{{ index .Vars.list 5 }}`, wantErr: "index 5 out of range"},
		{src: `{{ if index .Host.Labels "canary" }}canary{{ else }}not{{ end }}`, want: "not"},
		{src: `{{ env "HOME" }}`, wantErr: `function "env" not defined`},
		{src: `{{ now }}`, wantErr: `function "now" not defined`},
	} {
		t.Run(tc.src, func(t *testing.T) {
			s := &v1alpha1.FileSpec{Path: "/x", Content: &tc.src, Template: v1alpha1.RenderWith(v1alpha1.TemplateGo)}
			s.Default(nil)
			obj := reconcilers.Object[v1alpha1.FileSpec]{Resource: &v1alpha1.Resource{Spec: s}, Spec: s}
			out, _, err := Render(host, nil, obj)
			if tc.wantErr == "" {
				if err != nil || string(out) != tc.want {
					t.Fatalf("got %q, %v; want %q", out, err, tc.want)
				}
				if fe := (Reconciler{}).CheckHost(obj, host); fe != nil {
					t.Errorf("CheckHost: %v", fe)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got %q, %v; want an error with %q", out, err, tc.wantErr)
			}
			fe := (Reconciler{}).CheckHost(obj, host)
			// A missing key and a template that does not parse are found
			// by validate; what may depend on facts is left to the plan.
			wantCheck := tc.missingKey || strings.Contains(tc.wantErr, "not defined")
			if wantCheck != (len(fe) == 1) {
				t.Fatalf("CheckHost: %v", fe)
			}
			if wantCheck && (fe[0].Path != "content" || !strings.Contains(fe[0].Message, tc.wantErr)) {
				t.Errorf("CheckHost: %+v", fe[0])
			}
		})
	}
}
