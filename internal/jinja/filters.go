package jinja

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/nikolalohinski/gonja/v2/exec"
	"go.yaml.in/yaml/v3"
)

// ansibleFilters are the filters Ansible adds to Jinja2 that roles use
// most. Regular expressions are Go's RE2 (no backreferences in patterns,
// no lookaround); replacement strings take \1 as Python's do.
var ansibleFilters = map[string]exec.FilterFunction{
	"bool":          filterBool,
	"to_yaml":       yamlFilter(2),
	"to_nice_yaml":  yamlFilter(4),
	"to_json":       jsonFilter(""),
	"to_nice_json":  jsonFilter("    "),
	"from_json":     filterFromJSON,
	"regex_replace": filterRegexReplace,
	"regex_search":  filterRegexSearch,
	"regex_escape":  stringFilter(regexp.QuoteMeta),
	"mandatory":     filterMandatory,
	"basename":      stringFilter(path.Base),
	"dirname":       stringFilter(path.Dir),
	"quote":         stringFilter(shellQuote),
	"b64encode":     stringFilter(func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }),
	"b64decode":     filterB64Decode,
	"ternary":       filterTernary,
	"combine":       filterCombine,
	"dict2items":    filterDict2Items,
}

func fail(format string, args ...any) *exec.Value {
	return exec.AsValue(exec.ErrInvalidCall(fmt.Errorf(format, args...)))
}

func stringFilter(f func(string) string) exec.FilterFunction {
	return func(_ *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) *exec.Value {
		if in.IsError() {
			return in
		}
		return exec.AsValue(f(in.String()))
	}
}

// filterBool reads yes/no, on/off, true/false and 1/0 as Ansible does.
func filterBool(_ *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	if in.IsBool() {
		return in
	}
	switch strings.ToLower(strings.TrimSpace(in.String())) {
	case "yes", "on", "true", "1", "y", "t":
		return exec.AsValue(true)
	}
	return exec.AsValue(false)
}

func yamlFilter(indent int) exec.FilterFunction {
	return func(_ *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) *exec.Value {
		if in.IsError() {
			return in
		}
		var b bytes.Buffer
		enc := yaml.NewEncoder(&b)
		enc.SetIndent(indent)
		if err := enc.Encode(in.ToGoSimpleType(false)); err != nil {
			return fail("to_yaml: %v", err)
		}
		enc.Close()
		return exec.AsValue(b.String())
	}
}

func jsonFilter(indent string) exec.FilterFunction {
	return func(_ *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) *exec.Value {
		if in.IsError() {
			return in
		}
		var (
			b   []byte
			err error
		)
		if indent == "" {
			b, err = json.Marshal(in.ToGoSimpleType(false))
		} else {
			b, err = json.MarshalIndent(in.ToGoSimpleType(false), "", indent)
		}
		if err != nil {
			return fail("to_json: %v", err)
		}
		return exec.AsValue(string(b))
	}
}

func filterFromJSON(_ *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	var v any
	if err := json.Unmarshal([]byte(in.String()), &v); err != nil {
		return fail("from_json: %v", err)
	}
	return exec.AsValue(v)
}

// pyGroupRef is Python's \1 in a replacement string, which Go writes ${1}.
var pyGroupRef = regexp.MustCompile(`\\(\d+)`)

func filterRegexReplace(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	if len(params.Args) < 1 {
		return fail("regex_replace needs a pattern")
	}
	re, err := compile(params.Args[0].String(), params)
	if err != nil {
		return fail("regex_replace: %v", err)
	}
	repl := ""
	if len(params.Args) > 1 {
		repl = params.Args[1].String()
	} else if r, ok := params.KwArgs["replacement"]; ok {
		repl = r.String()
	}
	repl = pyGroupRef.ReplaceAllString(strings.ReplaceAll(repl, "$", "$$"), "$${$1}")
	return exec.AsValue(re.ReplaceAllString(in.String(), repl))
}

func filterRegexSearch(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	if len(params.Args) < 1 {
		return fail("regex_search needs a pattern")
	}
	re, err := compile(params.Args[0].String(), params)
	if err != nil {
		return fail("regex_search: %v", err)
	}
	m := re.FindString(in.String())
	if m == "" && !re.MatchString(in.String()) {
		return exec.AsValue(nil)
	}
	return exec.AsValue(m)
}

// compile honours Ansible's ignorecase and multiline keywords.
func compile(pattern string, params *exec.VarArgs) (*regexp.Regexp, error) {
	flags := ""
	if v, ok := params.KwArgs["ignorecase"]; ok && v.IsTrue() {
		flags += "i"
	}
	if v, ok := params.KwArgs["multiline"]; ok && v.IsTrue() {
		flags += "m"
	}
	if flags != "" {
		pattern = "(?" + flags + ")" + pattern
	}
	return regexp.Compile(pattern)
}

func filterMandatory(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() || in.IsNil() {
		msg := "mandatory variable is not defined"
		if len(params.Args) > 0 {
			msg = params.Args[0].String()
		}
		return exec.AsValue(errors.New(msg))
	}
	return in
}

func filterB64Decode(_ *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	b, err := base64.StdEncoding.DecodeString(in.String())
	if err != nil {
		return fail("b64decode: %v", err)
	}
	return exec.AsValue(string(b))
}

func filterTernary(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if len(params.Args) < 2 {
		return fail("ternary needs two values: ternary(if_true, if_false)")
	}
	if in.IsError() || in.IsNil() {
		if len(params.Args) > 2 {
			return params.Args[2]
		}
		return params.Args[1]
	}
	if in.IsTrue() {
		return params.Args[0]
	}
	return params.Args[1]
}

func filterCombine(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	out := map[string]any{}
	for _, v := range append([]*exec.Value{in}, params.Args...) {
		m, ok := v.ToGoSimpleType(false).(map[string]any)
		if !ok {
			return fail("combine works on dictionaries, not %s", v.String())
		}
		for k, x := range m {
			out[k] = x
		}
	}
	return exec.AsValue(out)
}

func filterDict2Items(_ *exec.Evaluator, in *exec.Value, _ *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	m, ok := in.ToGoSimpleType(false).(map[string]any)
	if !ok {
		return fail("dict2items works on a dictionary")
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sortStrings(keys)
	items := make([]any, 0, len(m))
	for _, k := range keys {
		items = append(items, map[string]any{"key": k, "value": m[k]})
	}
	return exec.AsValue(items)
}

// shellQuote quotes s for a POSIX shell, as Python's shlex.quote does.
func shellQuote(s string) string {
	if s == "" {
		return "''"
	}
	if regexp.MustCompile(`^[A-Za-z0-9@%+=:,./_-]+$`).MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}
