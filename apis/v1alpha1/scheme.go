package v1alpha1

import (
	"fmt"
	"sort"
)

// KindType describes one kind a manifest may contain: its name, API version
// and how to make an empty spec to decode into.
type KindType struct {
	// APIVersion of documents of this kind, such as optimus.dev/v1alpha1.
	APIVersion string
	// Kind is the name in documents, such as User.
	Kind string
	// NewSpec returns a pointer to a zero spec.
	NewSpec func() any
	// Description is one sentence shown by explain.
	Description string
}

// Scheme is the set of kinds a tool understands. Built-in and custom kinds
// are registered the same way.
type Scheme struct {
	kinds map[string]KindType
}

// NewScheme returns a scheme holding kinds; a kind registered twice is an error.
func NewScheme(kinds ...KindType) (*Scheme, error) {
	s := &Scheme{kinds: map[string]KindType{}}
	for _, k := range kinds {
		if k.Kind == "" || k.APIVersion == "" || k.NewSpec == nil {
			return nil, fmt.Errorf("kind %q: Kind, APIVersion and NewSpec are required", k.Kind)
		}
		if _, dup := s.kinds[k.Kind]; dup {
			return nil, fmt.Errorf("kind %s registered twice", k.Kind)
		}
		s.kinds[k.Kind] = k
	}
	return s, nil
}

// Lookup finds a kind by name.
func (s *Scheme) Lookup(kind string) (KindType, bool) {
	k, ok := s.kinds[kind]
	return k, ok
}

// Kinds lists the registered kinds sorted by name.
func (s *Scheme) Kinds() []KindType {
	out := make([]KindType, 0, len(s.kinds))
	for _, k := range s.kinds {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Kind < out[j].Kind })
	return out
}

func kind[T any](name, desc string) KindType {
	return KindType{APIVersion: APIVersion, Kind: name, Description: desc, NewSpec: func() any { return new(T) }}
}

// Builtin kinds.
var (
	HostKind          = kind[HostSpec]("Host", "A machine Optimus manages and how to reach it.")
	UserKind          = kind[UserSpec]("User", "A local user account.")
	GroupKind         = kind[GroupSpec]("Group", "A local group.")
	FileKind          = kind[FileSpec]("File", "A regular file with its content, mode and owner.")
	DirectoryKind     = kind[DirectorySpec]("Directory", "A directory with its mode and owner.")
	SymlinkKind       = kind[SymlinkSpec]("Symlink", "A symbolic link.")
	PackageKind       = kind[PackageSpec]("Package", "Operating-system packages (apt, dnf, apk).")
	ServiceKind       = kind[ServiceSpec]("Service", "A system service, running or stopped, enabled at boot or not.")
	ExecKind          = kind[ExecSpec]("Exec", "A command run when a condition says it is needed.")
	LineInFileKind    = kind[LineInFileSpec]("LineInFile", "Lines of a text file, present or absent, edited as one change.")
	BlockInFileKind   = kind[BlockInFileSpec]("BlockInFile", "A block of lines between marker lines in a text file.")
	AuthorizedKeyKind = kind[AuthorizedKeySpec]("AuthorizedKey", "A public key in a user's authorized_keys.")
	CronKind          = kind[CronSpec]("Cron", "A scheduled command in a user's crontab or in /etc/cron.d.")
	SysctlKind        = kind[SysctlSpec]("Sysctl", "A kernel parameter, persisted in /etc/sysctl.d and applied.")
	MountKind         = kind[MountSpec]("Mount", "A file system: its /etc/fstab entry and whether it is mounted.")
	HostnameKind      = kind[HostnameSpec]("Hostname", "The host's name, in /etc/hostname and in the running kernel.")
)

// BuiltinKinds lists every kind this package defines.
func BuiltinKinds() []KindType {
	return []KindType{HostKind, HostGroupKind, UserKind, GroupKind, FileKind, DirectoryKind, SymlinkKind,
		PackageKind, ServiceKind, ExecKind, LineInFileKind, BlockInFileKind, AuthorizedKeyKind,
		CronKind, SysctlKind, MountKind, HostnameKind, RolloutPolicyKind, GroupVarsKind}
}
