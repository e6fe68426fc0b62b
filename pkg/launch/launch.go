// Package launch starts consentflow's four services against a given stack — as
// processes of their binaries (the end-to-end suite, the benchmarks) or as
// goroutines of this process (the demo) — with the chain's topic names, consumer
// groups, Redis namespace, ports, tokens and keys worked out in one place.
//
//	chain, err := launch.New(launch.Options{Stack: stack, Prefix: "e2e-1.", Dir: dir}, launch.Processes{Bin: "bin"})
//	err = chain.Start(launch.Services...)
//	err = chain.WaitReady(ctx, time.Minute)
//	… chain.ProducerURL(), chain.Stop("anonymizer", syscall.SIGKILL, 0), chain.Start("anonymizer") …
//	chain.StopAll(30 * time.Second)
package launch

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/consentflow/consentflow/pkg/avro"
	"github.com/consentflow/consentflow/pkg/config"
	"github.com/consentflow/consentflow/pkg/redisconn"
	"github.com/consentflow/consentflow/pkg/stream"
	"github.com/consentflow/consentflow/pkg/topics"
)

// Services are the chain's services in start order (every group starts at the
// earliest offset, so the order only spares the producer's first requests a
// wait).
var Services = []string{"consent-filter", "anonymizer", "dataset-sink", "producer"}

// Stack is the infrastructure the services connect to: addresses, TLS and
// credentials of Kafka, Redis and the schema registry. The services get it as
// their KAFKA_*, REDIS_* and SCHEMA_REGISTRY_* variables.
type Stack struct {
	Kafka    stream.Config
	Redis    redisconn.Config
	Registry avro.RegistryConfig
}

// Options describe one chain.
type Options struct {
	Stack Stack
	// Prefix is put in front of the chain's topic names, consumer groups and
	// Redis namespace, so that chains share a stack without meeting; empty: the
	// default names (one chain per stack).
	Prefix string
	// Dir holds the sink's datasets (Dir/datasets) and the processes' logs
	// (Dir/logs/<service>.log).
	Dir string
	// Token is the bearer token of every API (generated when empty).
	Token string
	// PseudonymKey and AuditKey are base64 keys; empty makes each service
	// generate an ephemeral one (demo mode: pseudonyms and audit references do
	// not survive a restart).
	PseudonymKey, AuditKey string
	// LogFormat and LogLevel of the services (default json, info).
	LogFormat, LogLevel string
	// Env adds or overrides variables of a service (by service name).
	Env map[string]map[string]string
}

// Groups are the chain's consumer groups.
type Groups struct {
	Filter, Anonymizer, AnonymizerErasures, Sink, SinkErasures string
}

// Chain is the four services of one chain and where they listen.
type Chain struct {
	// Prefix is Options.Prefix.
	Prefix         string
	Names          topics.Names
	Groups         Groups
	RedisNamespace string
	Token          string
	// Dir is Options.Dir.
	Dir string

	stack  Stack
	addrs  map[string]string // producer, consent, datasets, ops-<service>
	envs   map[string]map[string]string
	runner Runner

	mu         sync.Mutex
	running    map[string]*tracked
	unexpected []string
}

// tracked is a started service and whether the chain stopped it on purpose.
type tracked struct {
	inst    Instance
	stopped bool
	started time.Time
}

// PropertiesAllowlist is the anonymizer's allowlist in launched chains: the
// properties the load generator sends that are safe to keep.
const PropertiesAllowlist = "project,space,priority,to_status,feature,model,results,scope"

// New works out the chain's names, ports and environments; Start starts its
// services with runner.
func New(o Options, runner Runner) (*Chain, error) {
	if o.Token == "" {
		o.Token = RandomHex(16)
	}
	if o.LogFormat == "" {
		o.LogFormat = "json"
	}
	if o.LogLevel == "" {
		o.LogLevel = "info"
	}
	ports, err := FreeAddrs(7)
	if err != nil {
		return nil, err
	}
	p := o.Prefix
	n := topics.DefaultNames()
	n.Changes, n.Raw, n.Consented, n.Curated = p+n.Changes, p+n.Raw, p+n.Consented, p+n.Curated
	n.Decisions, n.Erasures, n.Receipts, n.DLQ = p+n.Decisions, p+n.Erasures, p+n.Receipts, p+n.DLQ
	c := &Chain{
		Prefix: p, Names: n, Token: o.Token, Dir: o.Dir, stack: o.Stack, runner: runner, running: map[string]*tracked{},
		Groups: Groups{Filter: p + "consent-filter", Anonymizer: p + "anonymizer", AnonymizerErasures: p + "anonymizer-erasures",
			Sink: p + "dataset-sink", SinkErasures: p + "dataset-sink-erasures"},
		RedisNamespace: "cf",
		addrs: map[string]string{"producer": ports[0], "consent": ports[1], "datasets": ports[2],
			"ops-producer": ports[3], "ops-consent-filter": ports[4], "ops-anonymizer": ports[5], "ops-dataset-sink": ports[6]},
	}
	if p != "" {
		c.RedisNamespace = strings.TrimSuffix(p, ".")
	}
	c.envs = c.environments(o)
	return c, nil
}

// environments is the complete environment of every service.
func (c *Chain) environments(o Options) map[string]map[string]string {
	n := c.Names
	common := map[string]string{
		"TOPIC_CONSENT_CHANGES": n.Changes, "TOPIC_EVENTS_RAW": n.Raw, "TOPIC_EVENTS_CONSENTED": n.Consented,
		"TOPIC_EVENTS_CURATED": n.Curated, "TOPIC_CONSENT_DECISIONS": n.Decisions,
		"TOPIC_DATASET_ERASURES": n.Erasures, "TOPIC_ERASURE_RECEIPTS": n.Receipts, "TOPIC_EVENTS_DLQ": n.DLQ,
		"LOG_FORMAT": o.LogFormat, "LOG_LEVEL": o.LogLevel,
	}
	maps.Copy(common, config.Environ(&c.stack.Kafka))
	maps.Copy(common, config.Environ(&c.stack.Registry))
	token := "launch:plain:" + c.Token + "="
	own := map[string]map[string]string{
		"producer": {"PRODUCER_HTTP_ADDR": c.addrs["producer"], "PRODUCER_TOKENS": token + "events:write"},
		"consent-filter": {"CONSENT_HTTP_ADDR": c.addrs["consent"], "CONSENT_TOKENS": token + "consent:read|consent:write",
			"REDIS_NAMESPACE": c.RedisNamespace, "FILTER_GROUP_ID": c.Groups.Filter,
			// The privacy centre (links die with the chain) describes the anonymizer's settings.
			"CENTRE_LINK_KEY_EPHEMERAL": "true", "PROPERTIES_ALLOWLIST": PropertiesAllowlist},
		"anonymizer": {"PROPERTIES_ALLOWLIST": PropertiesAllowlist,
			"ANONYMIZER_GROUP_ID": c.Groups.Anonymizer, "ANONYMIZER_ERASURE_GROUP_ID": c.Groups.AnonymizerErasures},
		"dataset-sink": {"SINK_HTTP_ADDR": c.addrs["datasets"], "SINK_TOKENS": token + "datasets:read|datasets:write",
			"DATASET_ROOT": filepath.Join(o.Dir, "datasets"), "SINK_GROUP_ID": c.Groups.Sink,
			"SINK_ROTATE_INTERVAL": "2s", "SNAPSHOT_INTERVAL": "0"},
	}
	// The consent-filter's cache, and the data keys of curated records
	// (crypto-shredding): the anonymizer creates and shreds them, the sink reads them.
	for _, s := range []string{"consent-filter", "anonymizer", "dataset-sink"} {
		maps.Copy(own[s], config.Environ(&c.stack.Redis))
		own[s]["REDIS_NAMESPACE"] = c.RedisNamespace
	}
	if o.AuditKey != "" {
		own["consent-filter"]["AUDIT_KEY"] = o.AuditKey
	} else {
		own["consent-filter"]["AUDIT_KEY_EPHEMERAL"] = "true"
	}
	if o.PseudonymKey != "" {
		own["anonymizer"]["PSEUDONYM_KEYS"] = "k1:" + o.PseudonymKey
	} else {
		own["anonymizer"]["PSEUDONYM_EPHEMERAL"] = "true"
	}
	out := map[string]map[string]string{}
	for _, s := range Services {
		env := maps.Clone(common)
		env["OPS_ADDR"] = c.addrs["ops-"+s]
		maps.Copy(env, own[s])
		maps.Copy(env, o.Env[s])
		out[s] = env
	}
	return out
}

// Env returns a copy of the environment service runs with.
func (c *Chain) Env(service string) map[string]string { return maps.Clone(c.envs[service]) }

// ProducerURL, ConsentURL and DatasetsURL are the chain's HTTP APIs.
func (c *Chain) ProducerURL() string { return "http://" + c.addrs["producer"] }

// ConsentURL is the consent API of the consent-filter.
func (c *Chain) ConsentURL() string { return "http://" + c.addrs["consent"] }

// DatasetsURL is the dataset API of the sink.
func (c *Chain) DatasetsURL() string { return "http://" + c.addrs["datasets"] }

// OpsAddr is where service serves /healthz, /readyz and /metrics.
func (c *Chain) OpsAddr(service string) string { return c.addrs["ops-"+service] }

// Start starts services (or starts them again after they stopped).
func (c *Chain) Start(services ...string) error {
	for _, s := range services {
		env, ok := c.envs[s]
		if !ok {
			return fmt.Errorf("launch: unknown service %q", s)
		}
		inst, err := c.runner.start(s, maps.Clone(env), c.Dir)
		if err != nil {
			return fmt.Errorf("start %s: %w", s, err)
		}
		t := &tracked{inst: inst, started: time.Now()}
		c.mu.Lock()
		c.running[s] = t
		c.mu.Unlock()
		go func() {
			<-inst.Done()
			c.mu.Lock()
			defer c.mu.Unlock()
			if !t.stopped {
				c.unexpected = append(c.unexpected, fmt.Sprintf("%s (%s) exited by itself after %s: %v",
					s, inst, time.Since(t.started).Round(time.Millisecond), inst.Err()))
			}
		}()
	}
	return nil
}

// Instance returns the running (or last) instance of service, or nil.
func (c *Chain) Instance(service string) Instance {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t := c.running[service]; t != nil {
		return t.inst
	}
	return nil
}

// Running reports whether service is running.
func (c *Chain) Running(service string) bool {
	inst := c.Instance(service)
	if inst == nil {
		return false
	}
	select {
	case <-inst.Done():
		return false
	default:
		return true
	}
}

// Stop sends sig to service (SIGTERM: drain; SIGKILL: a crash) and waits up to
// wait for it to exit, then kills it. It returns an error when the service had to
// be killed after a graceful signal.
func (c *Chain) Stop(service string, sig syscall.Signal, wait time.Duration) error {
	c.mu.Lock()
	t := c.running[service]
	if t != nil {
		t.stopped = true
	}
	c.mu.Unlock()
	if t == nil {
		return nil
	}
	select {
	case <-t.inst.Done():
		return nil
	default:
	}
	_ = t.inst.Signal(sig)
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-t.inst.Done():
		return nil
	case <-timer.C:
	}
	_ = t.inst.Signal(syscall.SIGKILL)
	<-t.inst.Done()
	return fmt.Errorf("%s did not stop within %s after %v; killed", service, wait, sig)
}

// StopAll stops every service gracefully (SIGTERM), in reverse start order, each
// within wait.
func (c *Chain) StopAll(wait time.Duration) error {
	var errs []string
	for i := len(Services) - 1; i >= 0; i-- {
		if err := c.Stop(Services[i], syscall.SIGTERM, wait); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("graceful stop: %s", strings.Join(errs, "; "))
	}
	return nil
}

// Close kills whatever still runs (cleanup after a failure).
func (c *Chain) Close() {
	for _, s := range Services {
		_ = c.Stop(s, syscall.SIGKILL, 10*time.Second)
	}
}

// Exited returns the services whose latest start exited without being told to,
// with why (an orchestrator restarts them).
func (c *Chain) Exited() map[string]error {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]error{}
	for s, t := range c.running {
		select {
		case <-t.inst.Done():
			if !t.stopped {
				out[s] = t.inst.Err()
			}
		default:
		}
	}
	return out
}

// Unexpected lists every exit of a service that was not told to stop.
func (c *Chain) Unexpected() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.unexpected...)
}

// FreeAddrs returns n loopback addresses that are free right now.
func FreeAddrs(n int) ([]string, error) {
	var out []string
	var lns []net.Listener
	defer func() {
		for _, l := range lns {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, l)
		out = append(out, l.Addr().String())
	}
	return out, nil
}

// RandomHex returns n random bytes in hex (ids, tokens).
func RandomHex(n int) string { return hex.EncodeToString(randomBytes(n)) }

// RandomBase64 returns n random bytes in standard base64 (keys).
func RandomBase64(n int) string { return base64.StdEncoding.EncodeToString(randomBytes(n)) }

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// IsolatedEnv is the environment of a service process: PATH, HOME and TMPDIR of
// this process and nothing else of it (a stray TOPIC_* of the caller cannot leak
// in), then vars.
func IsolatedEnv(vars map[string]string) []string {
	out := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	if v := os.Getenv("TMPDIR"); v != "" {
		out = append(out, "TMPDIR="+v)
	}
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		out = append(out, k+"="+vars[k])
	}
	return out
}
