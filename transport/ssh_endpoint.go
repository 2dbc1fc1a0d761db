package transport

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/optimus-cm/optimus/apis/v1alpha1"
)

// sshEndpoint is one SSH server on the way to a host: the host itself, or
// a bastion in front of it (via), which may have a bastion of its own.
type sshEndpoint struct {
	// name is the Host resource's name, or the address of an inline bastion.
	name     string
	address  string
	port     int
	addr     string // address:port, as dialled (by the bastion when via is set)
	user     string
	keyFile  string
	signer   ssh.Signer // from keyFile
	password string     // from passwordFrom
	pwSource string
	useAgent bool
	hostKey  v1alpha1.HostKeySpec
	timeout  time.Duration
	via      *sshEndpoint
}

// where says how the endpoint is reached: "127.0.0.1:2222", or
// "web2:22 via bastion1" behind a bastion.
func (e *sshEndpoint) where() string {
	if e.via == nil {
		return e.addr
	}
	return e.addr + " via " + e.via.name
}

// key identifies what a connection to the endpoint is made of, so that
// hosts behind the same bastion share one connection to it.
func (e *sshEndpoint) key() string {
	k := strings.Join([]string{e.name, e.user, e.addr, e.keyFile, e.pwSource, strconv.FormatBool(e.useAgent),
		e.hostKey.KnownHostsFile, e.hostKey.Policy}, "\x00")
	if e.via != nil {
		k += "\x00via\x00" + e.via.key()
	}
	return k
}

func sshAddr(spec *v1alpha1.HostSpec) string {
	return net.JoinHostPort(spec.Address, strconv.Itoa(spec.Port))
}

// maxJumps bounds a chain of bastions; the loader refuses cycles, this
// guards hosts built in Go.
const maxJumps = 8

// newEndpoint describes the host of a defaulted spec and, through its jump,
// every bastion in front of it.
func newEndpoint(name string, spec *v1alpha1.HostSpec, depth int) (*sshEndpoint, error) {
	if spec.Address == "" {
		return nil, errors.New("spec.address is empty")
	}
	e := &sshEndpoint{name: name, address: spec.Address, port: spec.Port, addr: sshAddr(spec), user: spec.User,
		keyFile: spec.PrivateKeyFile, useAgent: spec.UseAgent, hostKey: spec.HostKey, timeout: spec.ConnectTimeout.Duration}
	if err := e.loadCredentials(spec.PasswordFrom); err != nil {
		return nil, err
	}
	if j := spec.Jump; j != nil {
		if depth >= maxJumps {
			return nil, fmt.Errorf("more than %d bastions in a row: is there a jump cycle through %s?", maxJumps, name)
		}
		via, err := bastionEndpoint(spec, j, depth)
		if err != nil {
			return nil, err
		}
		e.via = via
	}
	return e, nil
}

// bastionEndpoint describes the bastion j of the host whose spec is given:
// a Host resource, or an inline address that borrows the host's user, key
// and known_hosts unless it names its own.
func bastionEndpoint(spec *v1alpha1.HostSpec, j *v1alpha1.JumpSpec, depth int) (*sshEndpoint, error) {
	if j.Host != "" {
		b := j.Bastion()
		if b == nil || b.Spec == nil {
			return nil, fmt.Errorf("jump.host %s is not linked to its Host: load the manifests with the manifest loader, or call SetBastion", j.Host)
		}
		bspec := withDefaults(b)
		if bspec.Transport != "ssh" {
			return nil, fmt.Errorf("bastion %s has transport %s: a bastion must use ssh", j.Host, bspec.Transport)
		}
		via, err := newEndpoint(b.Metadata.Name, bspec, depth+1)
		if err != nil {
			return nil, fmt.Errorf("bastion %s: %w", j.Host, err)
		}
		return via, nil
	}
	inline := &v1alpha1.HostSpec{Address: j.Address, Port: j.Port, User: j.User, PrivateKeyFile: j.PrivateKeyFile,
		HostKey: j.HostKey, ConnectTimeout: spec.ConnectTimeout}
	if inline.User == "" {
		inline.User = spec.User
	}
	if inline.PrivateKeyFile == "" {
		inline.PrivateKeyFile, inline.UseAgent = spec.PrivateKeyFile, spec.UseAgent
	}
	if inline.HostKey.KnownHostsFile == "" {
		inline.HostKey.KnownHostsFile = spec.HostKey.KnownHostsFile
	}
	if inline.HostKey.Policy == "" {
		inline.HostKey.Policy = spec.HostKey.Policy
	}
	inline.Default(nil)
	via, err := newEndpoint(j.Address, inline, depth+1)
	if err != nil {
		return nil, fmt.Errorf("bastion %s: %w", j.Address, err)
	}
	return via, nil
}

// loadCredentials reads the key file and the password now, so that a
// missing key is a configuration error before any network traffic.
func (e *sshEndpoint) loadCredentials(pw *v1alpha1.SecretSource) error {
	if f := e.keyFile; f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("privateKeyFile: %w", err)
		}
		e.signer, err = ssh.ParsePrivateKey(b)
		var pm *ssh.PassphraseMissingError
		if errors.As(err, &pm) {
			return fmt.Errorf("privateKeyFile %s is protected by a passphrase: load it into ssh-agent (ssh-add %s) and set useAgent: true", f, f)
		}
		if err != nil {
			return fmt.Errorf("privateKeyFile %s: %w", f, err)
		}
	}
	if pw != nil {
		p, err := pw.Resolve()
		if err != nil {
			return fmt.Errorf("passwordFrom: %w", err)
		}
		e.password = p
		e.pwSource = "env " + pw.Env
		if pw.File != "" {
			e.pwSource = "file " + pw.File
		}
	}
	if e.useAgent && os.Getenv("SSH_AUTH_SOCK") == "" {
		return errors.New("useAgent is set but SSH_AUTH_SOCK is not: start ssh-agent and add the key")
	}
	if e.signer == nil && e.password == "" && !e.useAgent && os.Getenv("SSH_AUTH_SOCK") == "" {
		return errors.New("no way to authenticate: set privateKeyFile, passwordFrom or useAgent")
	}
	return nil
}

func (e *sshEndpoint) fail(r Reason, format string, args ...any) error {
	return &startError{reason: r, err: fmt.Errorf(format, args...)}
}

// hopError is a failure at a bastion rather than at the host behind it.
type hopError struct {
	hop *sshEndpoint
	err error
}

func (e *hopError) Error() string { return "bastion " + e.hop.name + ": " + e.err.Error() }
func (e *hopError) Unwrap() error { return e.err }

// atHop attributes err to the bastion hop, unless a bastion further out
// already claimed it.
func atHop(hop *sshEndpoint, err error) error {
	var he *hopError
	if errors.As(err, &he) {
		return err
	}
	return &hopError{hop: hop, err: err}
}

// authMethods lists what to offer, in order: the key file and the agent's
// keys (one publickey method: the client tries each method name once),
// then the password.
func (o *sshEndpoint) authMethods() (methods []ssh.AuthMethod, tried []string, closeAgent func(), err error) {
	closeAgent = func() {}
	var signers []ssh.Signer
	if o.signer != nil {
		signers = append(signers, o.signer)
		tried = append(tried, fmt.Sprintf("publickey %s (%s)", o.keyFile, ssh.FingerprintSHA256(o.signer.PublicKey())))
	}
	if sock := os.Getenv("SSH_AUTH_SOCK"); o.useAgent || (sock != "" && o.signer == nil && o.password == "") {
		ac, err := net.Dial("unix", sock)
		if err != nil {
			return nil, nil, nil, o.fail(ReasonConfig, "ssh-agent at SSH_AUTH_SOCK=%s: %v", sock, err)
		}
		closeAgent = func() { ac.Close() }
		as, err := agent.NewClient(ac).Signers()
		if err != nil {
			ac.Close()
			return nil, nil, nil, o.fail(ReasonConfig, "ssh-agent: %v", err)
		}
		signers = append(signers, as...)
		tried = append(tried, fmt.Sprintf("publickey from ssh-agent (%d keys)", len(as)))
	}
	if len(signers) > 0 {
		methods = append(methods, ssh.PublicKeys(signers...))
	}
	if o.password != "" {
		pw := o.password
		methods = append(methods, ssh.Password(pw), ssh.KeyboardInteractive(
			func(_, _ string, questions []string, _ []bool) ([]string, error) {
				answers := make([]string, len(questions))
				for i := range answers {
					answers[i] = pw
				}
				return answers, nil
			}))
		tried = append(tried, "password from "+o.pwSource)
	}
	return methods, tried, closeAgent, nil
}
