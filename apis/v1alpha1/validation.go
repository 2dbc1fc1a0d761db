package v1alpha1

import (
	"path"
	"reflect"
	"regexp"
	"strings"

	"github.com/go-playground/validator/v10"
)

// Rule is a custom validation tag the spec types use: the one definition
// that loading (through NewValidator), the JSON Schema and explain share.
type Rule struct {
	// Tag is the name used in validate tags, such as "unixname".
	Tag string
	// Pattern, when set, is a regular expression a valid value matches. It
	// uses the syntax common to RE2 and ECMA-262, so that it means the same
	// to Go and to an editor checking the JSON Schema.
	Pattern string
	// Message completes "must be ..." for a value that breaks the rule.
	Message string
	// Check, when set, is a further test than Pattern can express.
	Check func(s string) bool
}

// rules are the custom tags, in the order explain lists them.
var rules = []Rule{
	{Tag: "resourcename", Pattern: `^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$`,
		Message: "lower-case letters, digits, '.', '-' and '_', starting and ending with a letter or digit"},
	{Tag: "labelkey", Pattern: `^([a-z0-9]([a-z0-9.-]*[a-z0-9])?/)?[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$`,
		Message: "an optional DNS prefix and '/', then up to 63 letters, digits, '.', '-', '_'"},
	{Tag: "unixname", Pattern: `^[a-z_][a-z0-9_.-]*\$?$`,
		Message: "a user or group name: lower-case letters, digits, '_', '-', '.', starting with a letter or '_'"},
	{Tag: "abspath", Pattern: `^/`,
		Message: "an absolute, clean path such as /etc/motd",
		Check:   func(p string) bool { return path.Clean(p) == p }},
	{Tag: "filemode", Pattern: `^0?[0-7]{3,4}$`,
		Message: "octal permission bits as a quoted string, such as \"0644\""},
	{Tag: "regexp",
		Message: "a valid RE2 regular expression",
		Check:   func(s string) bool { _, err := regexp.Compile(s); return err == nil }},
	{Tag: "pkgname", Pattern: `^[a-zA-Z0-9][a-zA-Z0-9.+_:~-]*$`,
		Message: "a package name: letters, digits, '.', '+', '-', '_', ':', '~'"},
	{Tag: "envname", Pattern: `^[A-Za-z_][A-Za-z0-9_]*$`,
		Message: "an environment variable name: letters, digits and '_', not starting with a digit"},
	{Tag: "cronfile", Pattern: `^[A-Za-z0-9_-]+$`,
		Message: "a file name for /etc/cron.d: letters, digits, '-' and '_' (no dots: cron skips such files)"},
	{Tag: "batchsize", Pattern: `^([1-9][0-9]*|([1-9]|[1-9][0-9]|100)%)$`,
		Message: "a number of hosts (at least 1) or a percentage up to 100%, such as \"1\" or \"25%\""},
	{Tag: "failbudget", Pattern: `^([0-9]+|([0-9]|[1-9][0-9]|100)%)$`,
		Message: "a number of hosts or a percentage up to 100%, such as \"1\" or \"10%\""},
	{Tag: "sysctlkey", Pattern: `^[A-Za-z0-9_-]+([./][A-Za-z0-9_-]+)*$`,
		Message: "a kernel parameter such as net.ipv4.ip_forward: letters, digits, '_' and '-' separated by '.' or '/'"},
}

// DurationPattern is what a Duration accepts, for schemas.
const DurationPattern = `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`

// LookupRule finds a custom validation tag by name.
func LookupRule(tag string) (Rule, bool) {
	for _, r := range rules {
		if r.Tag == tag {
			return r, true
		}
	}
	return Rule{}, false
}

// TagMessages explains each custom validation tag to the user.
var TagMessages = func() map[string]string {
	m := make(map[string]string, len(rules))
	for _, r := range rules {
		m[r.Tag] = r.Message
	}
	return m
}()

// NewValidator returns a validator that knows the custom tags used by the
// spec types and reports fields by their JSON names. Custom kinds may use the
// same tags.
func NewValidator() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			return ""
		}
		if name == "" {
			return f.Name
		}
		return name
	})
	for _, r := range rules {
		if err := v.RegisterValidation(r.Tag, r.validatorFunc()); err != nil {
			panic(err) // only a malformed tag name fails, and the table is fixed
		}
	}
	return v
}

func (r Rule) validatorFunc() validator.Func {
	var re *regexp.Regexp
	if r.Pattern != "" {
		re = regexp.MustCompile(r.Pattern)
	}
	return func(fl validator.FieldLevel) bool {
		s := fl.Field().String()
		return (re == nil || re.MatchString(s)) && (r.Check == nil || r.Check(s))
	}
}
