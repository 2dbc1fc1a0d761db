package v1alpha1

import (
	"path"
	"reflect"
	"regexp"
	"strings"

	"github.com/go-playground/validator/v10"
)

var (
	resourceNameRe = regexp.MustCompile(`^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$`)
	labelKeyRe     = regexp.MustCompile(`^([a-z0-9]([a-z0-9.-]*[a-z0-9])?/)?[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$`)
	unixNameRe     = regexp.MustCompile(`^[a-z_][a-z0-9_.-]*\$?$`)
	fileModeRe     = regexp.MustCompile(`^0?[0-7]{3,4}$`)
	pkgNameRe      = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9.+_:~-]*$`)
	envNameRe      = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// TagMessages explains each custom validation tag to the user.
var TagMessages = map[string]string{
	"resourcename": "lower-case letters, digits, '.', '-' and '_', starting and ending with a letter or digit",
	"labelkey":     "an optional DNS prefix and '/', then up to 63 letters, digits, '.', '-', '_'",
	"unixname":     "a user or group name: lower-case letters, digits, '_', '-', '.', starting with a letter or '_'",
	"abspath":      "an absolute, clean path such as /etc/motd",
	"filemode":     "octal permission bits as a quoted string, such as \"0644\"",
	"regexp":       "a valid RE2 regular expression",
	"pkgname":      "a package name: letters, digits, '.', '+', '-', '_', ':', '~'",
	"envname":      "an environment variable name: letters, digits and '_', not starting with a digit",
	"cronfile":     "a file name for /etc/cron.d: letters, digits, '-' and '_' (no dots: cron skips such files)",
	"sysctlkey":    "a kernel parameter such as net.ipv4.ip_forward: letters, digits, '_' and '-' separated by '.' or '/'",
}

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
	re := func(r *regexp.Regexp) validator.Func {
		return func(fl validator.FieldLevel) bool { return r.MatchString(fl.Field().String()) }
	}
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	must(v.RegisterValidation("resourcename", re(resourceNameRe)))
	must(v.RegisterValidation("labelkey", re(labelKeyRe)))
	must(v.RegisterValidation("unixname", re(unixNameRe)))
	must(v.RegisterValidation("filemode", re(fileModeRe)))
	must(v.RegisterValidation("pkgname", re(pkgNameRe)))
	must(v.RegisterValidation("envname", re(envNameRe)))
	must(v.RegisterValidation("cronfile", re(cronFileRe)))
	must(v.RegisterValidation("sysctlkey", re(sysctlKeyRe)))
	must(v.RegisterValidation("abspath", func(fl validator.FieldLevel) bool {
		p := fl.Field().String()
		return strings.HasPrefix(p, "/") && path.Clean(p) == p
	}))
	must(v.RegisterValidation("regexp", func(fl validator.FieldLevel) bool {
		_, err := regexp.Compile(fl.Field().String())
		return err == nil
	}))
	return v
}
