package secure

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
)

// Rejection is a connection that cannot succeed by trying again: the server
// refused the credentials (a wrong password, an unknown user, a missing
// permission), or the TLS handshake failed (a certificate this client does not
// trust, a certificate for another name, a client certificate the server refuses,
// TLS spoken to a plaintext port). A person has to change the configuration.
type Rejection struct {
	// Server names the server: "Kafka broker 10.0.0.1:9093", "Redis 10.0.0.2:6379".
	Server string
	// Reason says what was refused, in words that point to the variable to fix.
	Reason string
	Err    error
}

func (r *Rejection) Error() string {
	return fmt.Sprintf("%s: %s: %v", r.Server, r.Reason, r.Err)
}

func (r *Rejection) Unwrap() error { return r.Err }

// Reject returns a Rejection of server.
func Reject(server, reason string, err error) error {
	return &Rejection{Server: server, Reason: reason, Err: err}
}

// IsRejection reports whether err is (or wraps) a Rejection.
func IsRejection(err error) bool {
	var r *Rejection
	return errors.As(err, &r)
}

// TLSFailure reports whether err is a failed TLS handshake, with a reason that
// names the setting to look at (prefix + TLS_...). A server that is down or a
// connection cut mid-way is not one.
func TLSFailure(err error, prefix string) (reason string, ok bool) {
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		verify   *tls.CertificateVerificationError
		header   tls.RecordHeaderError
		op       *net.OpError
	)
	switch {
	case errors.As(err, &unknown):
		return fmt.Sprintf("its TLS certificate is signed by an authority this client does not trust (%sTLS_CA_FILE)", prefix), true
	case errors.As(err, &hostname):
		return fmt.Sprintf("its TLS certificate is not valid for the name %q (%sTLS_SERVER_NAME)", hostname.Host, prefix), true
	case errors.As(err, &invalid):
		return "its TLS certificate is not valid", true
	case errors.As(err, &verify):
		return "its TLS certificate could not be verified", true
	case errors.As(err, &header):
		return fmt.Sprintf("it does not speak TLS on this port (%sTLS_*, or the port of its TLS listener)", prefix), true
	case errors.As(err, &op) && op.Op == "remote error":
		// A TLS alert from the server: it refused the handshake, mostly because
		// it wants a client certificate (or does not trust the one sent).
		return fmt.Sprintf("it refused the TLS handshake (a client certificate it trusts may be required: %sTLS_CERT_FILE, %sTLS_KEY_FILE)", prefix, prefix), true
	}
	return "", false
}
