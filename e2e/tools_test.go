//go:build linux

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/consentflow/consentflow/pkg/stream"
)

// kcatCount consumes topic with Debian's kcat and returns the records per
// partition and how many had no key.
func (r *run) kcatCount(ctx context.Context, topic string) (total int, noKey int, err error) {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	k := r.e.stack.Kafka
	if strings.HasPrefix(k.SASL.Mechanism, "SCRAM-") {
		if v := kcatLibrdkafka(); versionBefore(v, "2.6.1") {
			// librdkafka before 2.6.1 sends a SCRAM nonce Kafka 4.x rejects
			// (confluentinc/librdkafka#4895); the secured services.sh also
			// offers PLAIN for the same user over the same TLS listener.
			r.logln("kcat: its librdkafka %s cannot do SCRAM with Kafka 4.x; kcat authenticates with PLAIN over the same TLS listener", v)
			k.SASL.Mechanism = "PLAIN"
		}
	}
	cmd := exec.CommandContext(cctx, "kcat", "-F", r.librdkafkaConfig(k, "kcat"), "-C", "-t", topic, "-o", "beginning", "-e", "-q",
		"-f", "%p\t%o\t%K\t%h\n")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return 0, 0, fmt.Errorf("kcat: %v: %s", err, stderr.String())
	}
	if err := os.WriteFile(filepath.Join(r.dir, "kcat-curated.tsv"), out, 0o644); err != nil {
		return 0, 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) < 3 {
			continue
		}
		total++
		if n, err := strconv.Atoi(f[2]); err != nil || n <= 0 {
			noKey++
		}
	}
	return total, noKey, sc.Err()
}

// python runs thirdparty.py and decodes its JSON result line.
func (r *run) python(ctx context.Context, v any, args ...string) error {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, r.e.python, append([]string{filepath.Join(r.e.repo, "e2e", "thirdparty.py")}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	reg := r.e.stack.Registry
	cmd.Env = append(os.Environ(), "HF_DATASETS_OFFLINE=1", "HF_HUB_OFFLINE=1", "HF_HOME="+filepath.Join(r.dir, "hf-home"),
		"PYTHONUNBUFFERED=1", // the registry as the services reach it (values, even where given as NAME_FILE)
		"SCHEMA_REGISTRY_TLS_CA_FILE="+reg.TLS.CAFile, "SCHEMA_REGISTRY_USERNAME="+reg.Username,
		"SCHEMA_REGISTRY_PASSWORD="+reg.Password.Reveal())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	_ = os.WriteFile(filepath.Join(r.dir, "logs", "python-"+args[0]+".err"), stderr.Bytes(), 0o644)
	if err != nil {
		return fmt.Errorf("thirdparty.py %s: %v: %s", args[0], err, lastLines(stderr.String(), 15))
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return json.Unmarshal([]byte(lines[len(lines)-1]), v)
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// librdkafkaConfig writes a Kafka connection (the stack's, for a client named
// name) as a librdkafka properties file (0600: it may hold the SASL password) for kcat (-F) and
// Python confluent-kafka, and returns its path: the third-party clients reach a
// secured broker with the same settings the services use.
func (r *run) librdkafkaConfig(k stream.Config, name string) string {
	props := [][2]string{{"bootstrap.servers", strings.Join(k.Brokers, ",")}}
	switch {
	case k.TLS.On() && k.SASL.Mechanism != "":
		props = append(props, [2]string{"security.protocol", "SASL_SSL"})
	case k.TLS.On():
		props = append(props, [2]string{"security.protocol", "SSL"})
	case k.SASL.Mechanism != "":
		props = append(props, [2]string{"security.protocol", "SASL_PLAINTEXT"})
	}
	if k.SASL.Mechanism != "" {
		props = append(props, [2]string{"sasl.mechanisms", k.SASL.Mechanism},
			[2]string{"sasl.username", k.SASL.Username}, [2]string{"sasl.password", k.SASL.Password.Reveal()})
	}
	for _, p := range [][2]string{{"ssl.ca.location", k.TLS.CAFile}, {"ssl.certificate.location", k.TLS.CertFile},
		{"ssl.key.location", k.TLS.KeyFile}} {
		if p[1] != "" {
			props = append(props, p)
		}
	}
	var b strings.Builder
	for _, p := range props {
		fmt.Fprintf(&b, "%s=%s\n", p[0], p[1])
	}
	path := filepath.Join(r.dir, name+".librdkafka.properties")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		r.t.Fatal(err)
	}
	return path
}

// kcatLibrdkafka is the librdkafka version kcat is built with ("" if unknown).
func kcatLibrdkafka() string {
	out, _ := exec.Command("kcat", "-V").CombinedOutput()
	m := regexp.MustCompile(`librdkafka (\d+\.\d+\.\d+)`).FindSubmatch(out)
	if m == nil {
		return ""
	}
	return string(m[1])
}

// versionBefore reports whether dotted version v is older than w ("" is old).
func versionBefore(v, w string) bool {
	a, b := strings.Split(v, "."), strings.Split(w, ".")
	for i := range b {
		if i >= len(a) {
			return true
		}
		x, _ := strconv.Atoi(a[i])
		y, _ := strconv.Atoi(b[i])
		if x != y {
			return x < y
		}
	}
	return false
}
