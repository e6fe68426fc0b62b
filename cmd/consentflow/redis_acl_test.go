package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/consentflow/consentflow/pkg/launch"
	"github.com/consentflow/consentflow/pkg/redisconn"
	"github.com/consentflow/consentflow/pkg/testenv"
	"github.com/consentflow/consentflow/services/dataset-sink/client"
)

// aclDoc is where the ACLs are documented; the test reads them from there, so
// the document and what is tested cannot drift apart.
const aclDoc = "../../docs/operations.md"

// aclUsers are the documented users and the service each one is for.
var aclUsers = map[string]string{
	"consentflow-filter":     "consent-filter",
	"consentflow-anonymizer": "anonymizer",
	"consentflow-sink":       "dataset-sink",
}

// aclHandshake are the refusals a service may meet without harm: go-redis sends
// CLIENT SETINFO (Redis 7.2+) on every new connection and ignores a refusal.
var aclHandshake = []string{"client|setinfo", "client|maint_notifications"}

// documentedACLs returns the rules of each ACL SETUSER line of the section
// "Redis ACL per service" of docs/operations.md, by user.
func documentedACLs(t *testing.T) map[string][]string {
	t.Helper()
	f, err := os.Open(aclDoc)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]string{}
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "## Redis ACL per service":
			in = true
		case in && strings.HasPrefix(line, "## "):
			in = false
		case in && strings.HasPrefix(line, "ACL SETUSER "):
			f := strings.Fields(line)
			if _, ok := aclUsers[f[2]]; !ok {
				t.Fatalf("%s: ACL for an unknown user %q", aclDoc, f[2])
			}
			out[f[2]] = f[3:]
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for u := range aclUsers {
		if len(out[u]) == 0 {
			t.Fatalf("%s, section \"Redis ACL per service\": no ACL SETUSER line for %s", aclDoc, u)
		}
	}
	return out
}

// aclFor makes the documented rules those of a test user: the password
// replaced, and the namespace cf replaced by ns in every key and channel
// pattern (each must lie in the namespace).
func aclFor(t *testing.T, rules []string, password, ns string) []any {
	t.Helper()
	var out []any
	for _, r := range rules {
		switch {
		case strings.HasPrefix(r, ">"):
			r = ">" + password
		case strings.HasPrefix(r, "~"), strings.HasPrefix(r, "%"), strings.HasPrefix(r, "&"):
			i := strings.IndexAny(r, "~&") + 1
			head, pat := r[:i], r[i:]
			switch {
			case strings.HasPrefix(pat, "{cf:"):
				pat = "{" + ns + ":" + pat[len("{cf:"):]
			case strings.HasPrefix(pat, "cf:"):
				pat = ns + ":" + pat[len("cf:"):]
			default:
				t.Fatalf("%s: pattern %q is not in the namespace cf", aclDoc, r)
			}
			r = head + pat
		}
		out = append(out, r)
	}
	return out
}

// TestServicesRunOnTheDocumentedRedisACLs runs the chain with the
// consent-filter, the anonymizer and the dataset-sink each on a Redis user with
// exactly the ACL docs/operations.md gives it ("Redis ACL per service"), on the
// live Redis and on the live Redis Cluster: events are decided, sealed, opened
// and erased, the privacy centre's pages and counts answer, and Redis refused
// nothing (ACL LOG). A refusal stops the run at once, naming the command or key.
// Each documented rule was seen necessary by removing it from the document:
// the test then fails (the commit that added it says how often).
func TestServicesRunOnTheDocumentedRedisACLs(t *testing.T) {
	testenv.RequireLive(t)
	acls := documentedACLs(t)
	if !t.Run("single", func(t *testing.T) { runOnACLs(t, acls, "") }) {
		return
	}
	addrs := os.Getenv("REDIS_CLUSTER_ADDRS")
	if addrs == "" {
		if os.Getenv("CONSENTFLOW_REDIS_CLUSTER") == "off" {
			t.Skip("CONSENTFLOW_REDIS_CLUSTER=off: the ACLs are not tried on a Cluster")
		}
		t.Fatal("live suite without REDIS_CLUSTER_ADDRS: `make services` starts the Redis Cluster (CONSENTFLOW_REDIS_CLUSTER=off skips it)")
	}
	t.Run("cluster", func(t *testing.T) { runOnACLs(t, acls, addrs) })
}

// aclRedis is the admin side of one Redis (a server or every node of a Cluster).
type aclRedis struct {
	nodes []*redis.Client
}

func (a aclRedis) each(ctx context.Context, args ...any) error {
	for _, n := range a.nodes {
		if err := n.Do(ctx, args...).Err(); err != nil {
			return fmt.Errorf("%s: %v: %w", n.Options().Addr, args[:2], err)
		}
	}
	return nil
}

// refusals are the ACL LOG entries of users other than the harmless handshake.
func (a aclRedis) refusals(ctx context.Context, users map[string]bool) ([]string, error) {
	var out []string
	for _, n := range a.nodes {
		log, err := n.ACLLog(ctx, 1000).Result()
		if err != nil {
			return nil, fmt.Errorf("%s: ACL LOG: %w", n.Options().Addr, err)
		}
		for _, e := range log {
			if users[e.Username] && !slices.Contains(aclHandshake, e.Object) {
				out = append(out, fmt.Sprintf("%s: user %s refused %s %q (%s, %d times)", n.Options().Addr, e.Username, e.Reason, e.Object, e.Context, e.Count))
			}
		}
	}
	return out, nil
}

func runOnACLs(t *testing.T, acls map[string][]string, clusterAddrs string) {
	env := testenv.Start(t)
	ns := strings.TrimSuffix(env.Prefix, ".") // launch's namespace for this prefix
	admin := aclRedis{}
	stack := launch.Stack{Kafka: env.Kafka, Redis: env.Redis, Registry: env.Registry}
	addrs := []string{env.Redis.Addr}
	if clusterAddrs != "" {
		stack.Redis.Addr, stack.Redis.Cluster = clusterAddrs, true
		addrs = strings.Split(clusterAddrs, ",")
	}
	for _, a := range addrs {
		c := env.Redis
		c.Addr, c.Cluster = a, false
		rdb, err := c.NewClient(redisconn.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = rdb.Close() })
		admin.nodes = append(admin.nodes, rdb.(*redis.Client))
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	ctx, cancelTimeout := context.WithTimeout(ctx, 4*time.Minute)
	defer cancelTimeout()

	// The users, with the documented rules on every node; an empty script cache,
	// so that the NOSCRIPT paths (EVAL, SCRIPT LOAD) run too.
	suffix := launch.RandomHex(4)
	users := map[string]bool{}
	override := map[string]map[string]string{}
	for u, rules := range acls {
		name, password := u+"-"+suffix, launch.RandomHex(16)
		err := admin.each(ctx, append([]any{"ACL", "SETUSER", name}, aclFor(t, rules, password, ns)...)...)
		if err != nil && strings.Contains(err.Error(), "NOPERM") && env.Redis.Username != "" {
			t.Skipf("the live Redis user %s may not create users (the secured services give it -@admin): %v", env.Redis.Username, err)
		}
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = admin.each(context.Background(), "ACL", "DELUSER", name) })
		users[name] = true
		override[aclUsers[u]] = map[string]string{"REDIS_USERNAME": name, "REDIS_PASSWORD": password}
		t.Logf("%s: ACL SETUSER %s %v", aclUsers[u], name, aclFor(t, rules, "…", ns))
	}
	if err := admin.each(ctx, "SCRIPT", "FLUSH"); err != nil {
		t.Fatal(err)
	}
	// Every data key is asked of Redis (no cache), so that a key that exists
	// is read again: the anonymizer's acquire script then extends it (PEXPIRE).
	override["anonymizer"]["CURATED_KEY_CACHE"] = "0"
	override["dataset-sink"]["CURATED_KEY_CACHE"] = "0"
	override["dataset-sink"]["ERASURE_APPLY_INTERVAL"] = "200ms"

	// A refusal anywhere ends the run at once.
	refused := func() error {
		r, err := admin.refusals(context.Background(), users)
		if err != nil {
			return err
		}
		if len(r) > 0 {
			return errors.New(strings.Join(r, "\n"))
		}
		return nil
	}
	var watch sync.WaitGroup
	watch.Add(1)
	go func() {
		defer watch.Done()
		for ctx.Err() == nil {
			if err := refused(); err != nil {
				cancel(fmt.Errorf("Redis refused what a documented ACL lacks:\n%w", err))
				return
			}
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	defer func() { cancel(nil); watch.Wait() }()
	fail := func(format string, a ...any) {
		t.Helper()
		if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
			t.Fatalf(format+"\n%v", append(a, cause)...)
		}
		t.Fatalf(format, a...)
	}

	services := &launch.Goroutines{Services: serviceDefinitions(), Logger: zap.NewNop()}
	chain, err := launch.New(launch.Options{Stack: stack, Dir: t.TempDir(), Prefix: env.Prefix, LogLevel: "error", Env: override}, services)
	if err != nil {
		t.Fatal(err)
	}
	if chain.RedisNamespace != ns {
		t.Fatalf("namespace %q, the ACLs are for %q", chain.RedisNamespace, ns)
	}
	defer chain.Close()
	if err := chain.Start(launch.Services...); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = chain.StopAll(30 * time.Second) }()
	if err := chain.WaitReady(ctx, 90*time.Second); err != nil {
		fail("services not ready: %v", err)
	}
	decisions := watchDecisions(ctx, t, env)

	call := bearerCaller(ctx, t, chain.Token, fail)
	consent := func(user, status string) {
		t.Helper()
		if code, out := call("PUT", chain.ConsentURL()+"/v1/tenants/acme/users/"+user+"/consents/ai_training",
			`{"status":"`+status+`","source":"acl-test"}`); code != 200 {
			fail("%s %s: %d %s", user, status, code, out)
		}
	}
	decide := func(user, want string) {
		t.Helper()
		id := uuid.NewString()
		b, _ := json.Marshal(map[string]any{"events": []map[string]any{{"event_id": id, "event_type": "comment_added", "tenant_id": "acme",
			"user_id": user, "jurisdiction": "DE", "text": "Looks good to me"}}})
		if code, out := call("POST", chain.ProducerURL()+"/v1/events", string(b)); code != http.StatusAccepted {
			fail("event: %d %s", code, out)
		}
		if got := decisions.waitCtx(ctx, id); got != want {
			fail("%s's event: decided %q, want %q", user, got, want)
		}
	}
	drained := func() {
		t.Helper()
		if lags, err := chain.WaitDrained(ctx, 90*time.Second, 200*time.Millisecond); err != nil {
			fail("not drained (%s): %v", lags, err)
		}
	}
	sink := client.New(chain.DatasetsURL(), chain.Token, nil)
	rows := func(want int64) {
		t.Helper()
		m, err := sink.CreateSnapshot(ctx, "ai_training")
		if err != nil || m.Totals.Rows != want {
			fail("snapshot: %d rows, want %d (%v)", m.Totals.Rows, want, err)
		}
	}
	mint := func(body string) string {
		t.Helper()
		code, out := call("POST", chain.ConsentURL()+"/v1/centre/links", body)
		var lr struct{ URL string }
		if code != 200 || json.Unmarshal(out, &lr) != nil {
			fail("mint: %d %s", code, out)
		}
		return chain.ConsentURL() + lr.URL
	}

	// Ada (DE: opt-in) says yes, Bob has no record: consent store, cache,
	// history, counts; Ada's events are sealed (a new key, then the same key
	// again) and opened into the dataset.
	consent("ada", "granted")
	time.Sleep(300 * time.Millisecond)
	decide("ada", "allowed_consent")
	decide("bob", "no_consent")
	drained()
	decide("ada", "allowed_consent")
	drained()
	rows(2)
	user := mint(`{"tenant_id":"acme","user_id":"ada","jurisdiction":"DE"}`)
	if code, page := call("GET", user, ""); code != 200 {
		fail("Ada's privacy-centre page: %d %s", code, page)
	}
	// Ada withdraws: her next event is refused, her rows are erased (the data
	// keys shredded) from the next snapshot.
	consent("ada", "denied")
	time.Sleep(300 * time.Millisecond)
	decide("ada", "user_opt_out")
	drained()
	rows(0)
	// The tenant admin's report reads the counts.
	admin2 := mint(`{"kind":"admin","tenant_id":"acme"}`)
	var counted map[string]int64
	for deadline := time.Now().Add(60 * time.Second); ; {
		code, out := call("GET", admin2+"report.json", "")
		var rep struct {
			Events []struct {
				Reason string
				Days30 int64 `json:"last_30_days"`
			}
		}
		if code != 200 || json.Unmarshal(out, &rep) != nil {
			fail("admin report: %d %s", code, out)
		}
		counted = map[string]int64{}
		for _, e := range rep.Events {
			counted[e.Reason] += e.Days30
		}
		if counted["allowed_consent"] == 2 && counted["no_consent"] == 1 && counted["user_opt_out"] == 1 {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			fail("admin report's counts %v, want allowed_consent 2, no_consent 1, user_opt_out 1", counted)
		}
		time.Sleep(250 * time.Millisecond)
	}
	if err := refused(); err != nil {
		t.Fatalf("Redis refused what a documented ACL lacks:\n%v", err)
	}
	if u := chain.Unexpected(); len(u) > 0 {
		t.Fatalf("services stopped: %v", u)
	}
}

// waitCtx is wait that gives up when ctx ends (and after 60 s), answering
// what it saw instead of failing.
func (w *decisionWatch) waitCtx(ctx context.Context, id string) string {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		w.mu.Lock()
		r, ok := w.by[id]
		w.mu.Unlock()
		if ok {
			return r
		}
		time.Sleep(20 * time.Millisecond)
	}
	return "none in 60 s"
}
