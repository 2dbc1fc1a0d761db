package testhost

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/ssh"
)

func (h *Host) readHostKeys(ctx context.Context) error {
	out, err := docker(ctx, nil, "exec", h.Container, "sh", "-c", "cat /etc/ssh/ssh_host_*_key.pub")
	if err != nil {
		return fmt.Errorf("read host keys of %s: %w", h.Container, err)
	}
	h.hostKeys = h.hostKeys[:0]
	for line := range strings.Lines(out) {
		if f := strings.Fields(line); len(f) >= 2 {
			h.hostKeys = append(h.hostKeys, f[0]+" "+f[1])
		}
	}
	if len(h.hostKeys) == 0 {
		return fmt.Errorf("container %s has no SSH host keys", h.Container)
	}
	return nil
}

func (s *hostSet) writeKnownHosts() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	for _, h := range s.hosts {
		for _, k := range h.hostKeys {
			if h.Private {
				// Keyed by the name the bastion dials, as ssh would.
				fmt.Fprintf(&b, "%s %s\n", h.Container, k)
				continue
			}
			fmt.Fprintf(&b, "[127.0.0.1]:%d %s\n", h.Port, k)
		}
	}
	f := s.hosts[0].KnownHostsFile
	tmp := f + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, f)
}

// EnsureKey loads dir/id_ed25519 or generates it (comment names it in the
// key), and returns its path and authorized_keys line.
func EnsureKey(dir, comment string) (path string, pub []byte, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", nil, err
	}
	path = filepath.Join(dir, "id_ed25519")
	if b, err := os.ReadFile(path); err == nil {
		signer, err := ssh.ParsePrivateKey(b)
		if err != nil {
			return "", nil, fmt.Errorf("%s: %w (delete it to generate a new one)", path, err)
		}
		return path, ssh.MarshalAuthorizedKey(signer.PublicKey()), nil
	}
	pk, sk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", nil, err
	}
	block, err := ssh.MarshalPrivateKey(sk, comment)
	if err != nil {
		return "", nil, err
	}
	sshPub, err := ssh.NewPublicKey(pk)
	if err != nil {
		return "", nil, err
	}
	pub = ssh.MarshalAuthorizedKey(sshPub)
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return "", nil, err
	}
	if err := os.WriteFile(path+".pub", pub, 0o644); err != nil {
		return "", nil, err
	}
	return path, pub, nil
}
