package transport

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// hostKeyCallback checks the host key by the policy. known_hosts is read at
// every dial, so a key added by accept-new or by hand counts at once. The
// returned algorithms are the key types known_hosts holds for the host, so a
// server with several keys offers the one we know.
func (o *sshEndpoint) hostKeyCallback() (cb ssh.HostKeyCallback, algos []string, failure *error, err error) {
	failure = new(error)
	policy := o.hostKey.Policy
	if policy == "insecure" {
		return ssh.InsecureIgnoreHostKey(), nil, failure, nil
	}
	file := o.hostKey.KnownHostsFile
	if file == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return nil, nil, nil, o.fail(ReasonConfig, "hostKey.knownHostsFile is not set and there is no home directory: %v", err)
		}
		file = filepath.Join(home, ".ssh", "known_hosts")
	}
	var files []string
	if _, err := os.Stat(file); err == nil {
		files = append(files, file)
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil, o.fail(ReasonConfig, "hostKey.knownHostsFile: %v", err)
	}
	db, err := loadKnownHosts(files...)
	if err != nil {
		return nil, nil, nil, o.fail(ReasonConfig, "hostKey.knownHostsFile: %v", err)
	}
	algos = knownAlgorithms(db, o.addr)
	entry := knownhosts.Normalize(o.addr)
	cb = func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		err := db(hostname, remote, key)
		var ke *knownhosts.KeyError
		var re *knownhosts.RevokedError
		offered := key.Type() + " " + ssh.FingerprintSHA256(key)
		switch {
		case err == nil:
			return nil
		case errors.As(err, &ke) && len(ke.Want) == 0 && policy == "accept-new":
			if err := appendKnownHost(file, o.addr, key); err != nil {
				*failure = o.fail(ReasonConfig, "accept-new: cannot add the host key to %s: %v", file, err)
				return *failure
			}
			return nil
		case errors.As(err, &ke) && len(ke.Want) == 0:
			*failure = o.fail(ReasonHostKey, "unknown host key (%s): %s is not in %s (check the fingerprint, then add it to %s, e.g. ssh-keyscan -p %d %s >> %s, or set hostKey.policy: accept-new)",
				offered, entry, file, file, o.port, o.address, file)
		case errors.As(err, &ke):
			var known []string
			for _, w := range ke.Want {
				known = append(known, fmt.Sprintf("%s %s at %s:%d", w.Key.Type(), ssh.FingerprintSHA256(w.Key), w.Filename, w.Line))
			}
			*failure = o.fail(ReasonHostKey, "host key mismatch: the key offered (%s) is not the one in known_hosts (%s); someone may be intercepting the connection, or the host was reinstalled: if the host was reinstalled, remove its line from %s (ssh-keygen -f %s -R '%s') and connect again",
				offered, strings.Join(known, "; "), file, file, entry)
		case errors.As(err, &re):
			*failure = o.fail(ReasonHostKey, "the host key (%s) is marked @revoked in %s", offered, file)
		default:
			*failure = o.fail(ReasonHostKey, "host key check: %v", err)
		}
		return *failure
	}
	return cb, algos, failure, nil
}

// knownHostsCache keeps each known_hosts file parsed once while it stays
// the same file with the same size and modification time. Every kept
// connection holds its host key check (the key is checked again when the
// connection re-keys): parsing the file per connection cost ~10 KiB of
// memory per host at a thousand hosts. An edited, replaced or appended
// file is parsed again at the next dial, so a key removed or added counts
// at once, as before.
var knownHostsCache = struct {
	sync.Mutex
	m map[string]knownHostsEntry
}{m: map[string]knownHostsEntry{}}

type knownHostsEntry struct {
	file os.FileInfo
	db   ssh.HostKeyCallback
}

func loadKnownHosts(files ...string) (ssh.HostKeyCallback, error) {
	if len(files) != 1 {
		return knownhosts.New(files...)
	}
	st, err := os.Stat(files[0])
	if err != nil {
		return nil, err
	}
	knownHostsCache.Lock()
	defer knownHostsCache.Unlock()
	if e, ok := knownHostsCache.m[files[0]]; ok && os.SameFile(e.file, st) && e.file.Size() == st.Size() && e.file.ModTime().Equal(st.ModTime()) {
		return e.db, nil
	}
	// The check only reads what New parsed, so one is shared by every
	// connection at once.
	db, err := knownhosts.New(files[0])
	if err != nil {
		return nil, err
	}
	knownHostsCache.m[files[0]] = knownHostsEntry{file: st, db: db}
	return db, nil
}

// probeKey is a key no host has: checking it makes knownhosts list the keys
// it knows for an address.
var probeKey = sync.OnceValue(func() ssh.PublicKey {
	pub, _, _ := ed25519.GenerateKey(nil)
	k, _ := ssh.NewPublicKey(pub)
	return k
})

func knownAlgorithms(db ssh.HostKeyCallback, addr string) []string {
	tcpAddr, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return nil
	}
	var ke *knownhosts.KeyError
	if !errors.As(db(addr, tcpAddr, probeKey()), &ke) || len(ke.Want) == 0 {
		return nil
	}
	var algos []string
	seen := map[string]bool{}
	for _, w := range ke.Want {
		t := w.Key.Type()
		names := []string{t}
		if t == ssh.KeyAlgoRSA {
			names = []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
		}
		for _, n := range names {
			if !seen[n] {
				seen[n] = true
				algos = append(algos, n)
			}
		}
	}
	return algos
}

var knownHostsMu sync.Mutex

func appendKnownHost(file, addr string, key ssh.PublicKey) error {
	knownHostsMu.Lock()
	defer knownHostsMu.Unlock()
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(file, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(f, knownhosts.Line([]string{knownhosts.Normalize(addr)}, key))
	return errors.Join(err, f.Close())
}
