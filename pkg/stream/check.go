package stream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"syscall"

	"github.com/segmentio/kafka-go"

	"github.com/consentflow/consentflow/pkg/secure"
)

// Check connects to Kafka the way readers and writers do (TLS, SASL): to the
// bootstrap brokers until one answers, then to every broker the cluster
// advertises. It returns nil when the cluster answers and accepts the
// connection. When a broker refuses the credentials, or its certificate is not
// trusted or not valid for its name, it returns a *secure.Rejection that names
// the broker and the variable to fix: retrying cannot help, and services stop at
// start with it. Any other error (no broker reachable, a broker restarting) is
// worth retrying. An advertised broker that is down does not fail the check.
func (c Config) Check(ctx context.Context) error {
	if err := c.security().err; err != nil {
		// TLS files or the AWS configuration that cannot be loaded: a person must
		// fix the settings, as for a refusal.
		return secure.Reject("Kafka connection settings", "they cannot be loaded", err)
	}
	d := c.dialer()
	var errs []error
	for _, addr := range c.Brokers {
		brokers, err := c.probe(ctx, d, addr, true)
		if err != nil {
			if secure.IsRejection(err) {
				return err
			}
			errs = append(errs, err)
			continue
		}
		// Every advertised broker at once: a big cluster costs one round trip.
		rejections := make(chan error, len(brokers))
		var wg sync.WaitGroup
		for _, b := range brokers {
			a := net.JoinHostPort(b.Host, strconv.Itoa(b.Port))
			if a == addr {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := c.probe(ctx, d, a, false); secure.IsRejection(err) {
					rejections <- err
				}
			}()
		}
		wg.Wait()
		close(rejections)
		return <-rejections // nil when none
	}
	return fmt.Errorf("no Kafka broker of %v answered: %w", c.Brokers, errors.Join(errs...))
}

// probe connects to one broker (TLS handshake and SASL authentication happen in
// the dial) and, for a bootstrap broker, asks for the cluster's brokers.
func (c Config) probe(ctx context.Context, d *kafka.Dialer, addr string, bootstrap bool) ([]kafka.Broker, error) {
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, c.classify(addr, err)
	}
	defer conn.Close()
	if !bootstrap {
		return nil, nil
	}
	brokers, err := conn.Brokers()
	if err != nil {
		return nil, c.classify(addr, err)
	}
	return brokers, nil
}

// classify turns a failed connection to broker addr into a *secure.Rejection when
// retrying cannot fix it, and otherwise into an error that names the broker and,
// where the failure looks like a TLS or SASL mismatch, says so.
func (c Config) classify(addr string, err error) error {
	server := "Kafka broker " + addr
	if reason, ok := secure.TLSFailure(err, "KAFKA_"); ok {
		return secure.Reject(server, reason, err)
	}
	var kerr kafka.Error
	if errors.As(err, &kerr) {
		switch kerr {
		case kafka.SASLAuthenticationFailed:
			return secure.Reject(server, fmt.Sprintf("it refused the SASL credentials (%s, user %q: KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD)",
				c.SASL.Mechanism, c.SASL.Username), err)
		case kafka.UnsupportedSASLMechanism:
			return secure.Reject(server, fmt.Sprintf("its listener does not accept SASL mechanism %s (KAFKA_SASL_MECHANISM)", c.SASL.Mechanism), err)
		case kafka.IllegalSASLState:
			return secure.Reject(server, "its listener does not expect SASL (unset KAFKA_SASL_MECHANISM, or use the port of its SASL listener)", err)
		case kafka.ClusterAuthorizationFailed, kafka.TopicAuthorizationFailed, kafka.GroupAuthorizationFailed,
			kafka.TransactionalIDAuthorizationFailed:
			return secure.Reject(server, fmt.Sprintf("the user %q is not authorized (Kafka ACLs)", c.SASL.Username), err)
		}
	}
	// A listener of another kind accepts the TCP connection and then closes it
	// when the first bytes are not what it expects. So does a broker going down:
	// retried, with a hint.
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
		hint := "is it a TLS or SASL listener? (KAFKA_TLS_ENABLED, KAFKA_SASL_MECHANISM)"
		if c.TLS.On() {
			hint = "is it a TLS listener? (KAFKA_TLS_ENABLED)"
		}
		return fmt.Errorf("%s closed the connection at once (%s): %w", server, hint, err)
	}
	// A plaintext listener never answers a TLS handshake: it waits for the rest
	// of what it takes for a request. So does a broker that hangs.
	var nerr net.Error
	if c.TLS.On() && (errors.Is(err, context.DeadlineExceeded) || errors.As(err, &nerr) && nerr.Timeout()) {
		return fmt.Errorf("%s did not answer the TLS handshake in time (is it a TLS listener? KAFKA_TLS_ENABLED): %w", server, err)
	}
	return fmt.Errorf("%s: %w", server, err)
}
