package daemon

import (
	"crypto/tls"
	"errors"
	"fmt"

	"github.com/optimus-cm/optimus/internal/web"
)

// serverTLS checks how the HTTP server may listen and loads its
// certificate: HTTPS with TLSCertFile and TLSKeyFile; plain HTTP only on
// loopback, or elsewhere when InsecureHTTP says the operator knows that
// tokens and session cookies then cross the network in clear. It returns
// nil for plain HTTP.
func serverTLS(o Options) (*tls.Config, error) {
	if (o.TLSCertFile == "") != (o.TLSKeyFile == "") {
		return nil, errors.New("--tls-cert-file and --tls-key-file go together: give both to serve HTTPS")
	}
	if o.TLSCertFile == "" {
		if o.Listen != "" && !web.IsLoopback(o.Listen) && !o.InsecureHTTP {
			return nil, fmt.Errorf("--listen %s accepts connections from other machines, and without TLS the bearer tokens "+
				"and session cookies would cross the network in clear: pass --tls-cert-file FILE and --tls-key-file FILE "+
				"to serve HTTPS, or --insecure-http if something else encrypts the traffic (a TLS proxy on this machine, a VPN)", o.Listen)
		}
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(o.TLSCertFile, o.TLSKeyFile)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert-file %s, --tls-key-file %s: %w (want PEM files: the certificate chain, and its private key)",
			o.TLSCertFile, o.TLSKeyFile, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}
