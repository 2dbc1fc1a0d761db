package fleetsim

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"os"

	"golang.org/x/crypto/ssh"
)

// HostName is the name of the i-th simulated host of a fleet of n: h0042,
// zero-padded so that names sort in order.
func HostName(i, n int) string {
	width := max(4, len(fmt.Sprint(n-1)))
	return fmt.Sprintf("h%0*d", width, i)
}

// HostSigner is the host key of the simulated host name. It is derived from
// the fleet's seed, so simd and the known_hosts file agree without reading
// ten thousand keys out of a container, and a new fleet (a new seed) has new
// keys, as reinstalled machines would.
func HostSigner(seed []byte, name string) (ssh.Signer, error) {
	sum := sha256.Sum256(append(append([]byte("optimus fleetsim host key\x00"), seed...), name...))
	return ssh.NewSignerFromKey(ed25519.NewKeyFromSeed(sum[:]))
}

// newSeed writes a fresh random seed to path.
func newSeed(path string) ([]byte, error) {
	seed := make([]byte, 32)
	if _, err := rand.Read(seed); err != nil {
		return nil, err
	}
	return seed, os.WriteFile(path, seed, 0o600)
}
