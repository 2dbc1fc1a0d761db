package transport

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

type testSettings struct {
	Endpoint string `json:"endpoint" validate:"required"`
}

func TestRegistry(t *testing.T) {
	var got *testSettings
	custom := NewConnector("custom", func(_ context.Context, _ *v1alpha1.Host, s *testSettings) (Conn, error) {
		got = s
		return nil, errors.New("not reachable in this test")
	})
	reg, err := NewRegistry(custom)
	if err != nil {
		t.Fatal(err)
	}
	schemas := reg.Schemas()
	for _, name := range []string{"ssh", "local", "docker"} {
		if f, ok := schemas[name]; !ok || f != nil {
			t.Errorf("built-in %s: in schemas %v, settings constructor %v; want present, none", name, ok, f != nil)
		}
	}
	if f := schemas["custom"]; f == nil {
		t.Fatal("custom connector has no settings constructor")
	} else if _, ok := f().(*testSettings); !ok {
		t.Errorf("custom settings are %T, want *testSettings", f())
	}

	host := func(transport string, settings map[string]any) *v1alpha1.Host {
		return &v1alpha1.Host{Metadata: v1alpha1.ObjectMeta{Name: "h"}, Spec: &v1alpha1.HostSpec{Transport: transport, Settings: settings}}
	}
	if _, err := reg.Dial(context.Background(), host("custom", map[string]any{"endpoint": "e1"})); err == nil || got == nil || got.Endpoint != "e1" {
		t.Errorf("custom dial: err %v, settings %+v; want its error and endpoint e1", err, got)
	}
	_, err = reg.Dial(context.Background(), host("custom", map[string]any{"endpoint": "e1", "extra": 1}))
	var ce *ConnectError
	if !errors.As(err, &ce) || ce.Reason != ReasonConfig || !strings.Contains(err.Error(), `unknown field "extra"`) {
		t.Errorf("settings with an unknown field: got %v, want a config ConnectError naming it", err)
	}
	_, err = reg.Dial(context.Background(), host("telnet", nil))
	if !errors.As(err, &ce) || ce.Reason != ReasonConfig || !strings.Contains(err.Error(), "custom, docker, local, ssh") {
		t.Errorf("unknown transport: got %v, want a config ConnectError listing the transports", err)
	}

	if _, err := NewRegistry(custom, custom); err == nil || !strings.Contains(err.Error(), "custom registered twice") {
		t.Errorf("two connectors named custom: got %v", err)
	}
	if _, err := NewRegistry(NewConnector("ssh", func(context.Context, *v1alpha1.Host, *testSettings) (Conn, error) { return nil, nil })); err == nil {
		t.Error("a custom connector may not replace the built-in ssh")
	}
}

func TestHostCheckTransports(t *testing.T) {
	reg, err := NewRegistry(NewConnector("custom", func(context.Context, *v1alpha1.Host, *testSettings) (Conn, error) { return nil, nil }))
	if err != nil {
		t.Fatal(err)
	}
	kind := v1alpha1.NewHostKind(reg.Schemas())
	cases := []struct {
		transport string
		settings  map[string]any
		jump      *v1alpha1.JumpSpec
		want      string // "path: message" of the first problem, or empty
	}{
		{"", nil, nil, ""},
		{"custom", map[string]any{"endpoint": "x"}, nil, ""},
		{"custom", nil, nil, "settings.endpoint: is required"},
		{"custom", map[string]any{"endpoint": 3}, nil, "settings: cannot unmarshal number"},
		{"local", map[string]any{"endpoint": "x"}, nil, "settings: transport local takes no settings"},
		{"nope", nil, nil, `transport: unknown transport "nope": use one of custom, docker, local, ssh`},
		{"docker", nil, &v1alpha1.JumpSpec{Host: "b"}, "jump: a jump needs transport ssh, not docker"},
	}
	for _, c := range cases {
		spec := kind.NewSpec().(*v1alpha1.HostSpec)
		spec.Transport, spec.Settings, spec.Jump = c.transport, c.settings, c.jump
		errs := spec.Check()
		var got string
		if len(errs) > 0 {
			got = errs[0].Path + ": " + errs[0].Message
		}
		if c.want == "" && got != "" || !strings.Contains(got, c.want) {
			t.Errorf("transport %q settings %v: got %q, want %q", c.transport, c.settings, got, c.want)
		}
	}
}
