package deploycheck

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const (
	k8sDir        = "deploy/kubernetes"
	secretExample = "deploy/kubernetes/secret.example.yaml"
)

// object is one Kubernetes manifest document.
type object struct {
	File string
	Doc  map[string]any
}

func (o object) kind() string { return asString(o.Doc["kind"]) }
func (o object) name() string { return asString(asMap(o.Doc["metadata"])["name"]) }
func (o object) where() string {
	return fmt.Sprintf("%s: %s/%s", o.File, o.kind(), o.name())
}

// dig walks nested maps by key.
func dig(v any, keys ...string) any {
	for _, k := range keys {
		v = asMap(v)[k]
	}
	return v
}

// parseManifests parses a multi-document YAML file.
func parseManifests(t *testing.T, rel string) []object {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(readFile(t, rel)))
	var out []object
	for i := 1; ; i++ {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: document %d does not parse: %v", rel, i, err)
		}
		if doc == nil {
			continue
		}
		o := object{File: rel, Doc: doc}
		if o.kind() == "" || asString(doc["apiVersion"]) == "" || o.name() == "" {
			t.Errorf("%s: document %d lacks apiVersion, kind or metadata.name", rel, i)
			continue
		}
		out = append(out, o)
	}
	return out
}

type kustomization struct {
	Resources []string `yaml:"resources"`
	Namespace string   `yaml:"namespace"`
	Images    []struct {
		Name    string `yaml:"name"`
		NewName string `yaml:"newName"`
		NewTag  string `yaml:"newTag"`
		Digest  string `yaml:"digest"`
	} `yaml:"images"`
}

func loadKustomization(t *testing.T) kustomization {
	t.Helper()
	var k kustomization
	if err := yaml.Unmarshal(readFile(t, k8sDir+"/kustomization.yaml"), &k); err != nil {
		t.Fatalf("%s/kustomization.yaml does not parse: %v", k8sDir, err)
	}
	return k
}

// manifests returns the objects of the kustomization, and the Secrets of the
// template (whose placeholder values are replaced by testdata/secrets.env).
func manifests(t *testing.T) (objs []object, secrets map[string]map[string]string) {
	t.Helper()
	k := loadKustomization(t)
	for _, r := range k.Resources {
		objs = append(objs, parseManifests(t, k8sDir+"/"+r)...)
	}
	test := testSecrets(t)
	secrets = map[string]map[string]string{}
	for _, o := range parseManifests(t, secretExample) {
		if o.kind() != "Secret" {
			t.Errorf("%s: only Secrets belong in the secret template", o.where())
			continue
		}
		data := map[string]string{}
		for key := range asMap(o.Doc["stringData"]) {
			v, ok := test[key]
			if !ok {
				t.Errorf("%s: key %s has no test value in testdata/secrets.env", o.where(), key)
			}
			data[key] = v
		}
		if len(asMap(o.Doc["data"])) > 0 {
			t.Errorf("%s: use stringData with <placeholders>, not base64 data, in the template", o.where())
		}
		secrets[o.name()] = data
	}
	return objs, secrets
}

// TestKubernetesManifestsParse: every YAML file under deploy/kubernetes parses, every
// resource of kustomization.yaml exists, and no manifest is left out of it (except
// the secret template).
func TestKubernetesManifestsParse(t *testing.T) {
	k := loadKustomization(t)
	listed := map[string]bool{"kustomization.yaml": true, filepath.Base(secretExample): true}
	for _, r := range k.Resources {
		if _, err := os.Stat(filepath.Join(root(t), k8sDir, r)); err != nil {
			t.Errorf("%s/kustomization.yaml lists %s, which does not exist", k8sDir, r)
		}
		listed[r] = true
	}
	if k.Namespace == "" {
		t.Errorf("%s/kustomization.yaml: set namespace", k8sDir)
	}
	files, _ := filepath.Glob(filepath.Join(root(t), k8sDir, "*.y*ml"))
	for _, f := range files {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		parseManifests(t, k8sDir+"/"+filepath.Base(f))
		if !listed[filepath.Base(f)] {
			t.Errorf("%s/%s is not listed in kustomization.yaml resources", k8sDir, filepath.Base(f))
		}
	}
	if _, err := os.Stat(filepath.Join(root(t), secretExample)); err != nil {
		t.Errorf("%s is missing: the Deployments reference its Secrets", secretExample)
	}
	for _, r := range k.Resources {
		if r == filepath.Base(secretExample) {
			t.Errorf("%s/kustomization.yaml must not apply the secret template (placeholders)", k8sDir)
		}
	}
}

// workload is a Deployment's or Job's pod template.
type workload struct {
	obj  object
	pod  map[string]any
	meta map[string]any
}

func workloads(objs []object) []workload {
	var out []workload
	for _, o := range objs {
		switch o.kind() {
		case "Deployment", "Job", "StatefulSet", "DaemonSet":
			tpl := asMap(dig(o.Doc, "spec", "template"))
			out = append(out, workload{obj: o, pod: asMap(tpl["spec"]), meta: asMap(tpl["metadata"])})
		}
	}
	return out
}

func containers(pod map[string]any) []map[string]any {
	var out []map[string]any
	for _, c := range append(asSlice(pod["initContainers"]), asSlice(pod["containers"])...) {
		out = append(out, asMap(c))
	}
	return out
}

// containerEnv resolves a container's environment from env and envFrom against the
// ConfigMaps of the manifests and the Secrets of the template. Paths under a
// mounted ConfigMap volume are rewritten to a temporary copy of its data so that
// Validate can read the file.
func containerEnv(t *testing.T, w workload, c map[string]any, objs []object, secrets map[string]map[string]string) map[string]string {
	t.Helper()
	where := w.obj.where()
	configMaps := map[string]map[string]string{}
	for _, o := range objs {
		if o.kind() == "ConfigMap" {
			data := map[string]string{}
			for k, v := range asMap(o.Doc["data"]) {
				data[k] = asString(v)
			}
			configMaps[o.name()] = data
		}
	}
	lookup := func(kind, name string) (map[string]string, bool) {
		if kind == "configMap" {
			m, ok := configMaps[name]
			return m, ok
		}
		m, ok := secrets[name]
		return m, ok
	}
	env := map[string]string{}
	for _, ef := range asSlice(c["envFrom"]) {
		for _, kind := range []string{"configMap", "secret"} {
			if r := asMap(asMap(ef)[kind+"Ref"]); r != nil {
				data, ok := lookup(kind, asString(r["name"]))
				if !ok {
					t.Errorf("%s: envFrom %sRef %s is not defined (%s)", where, kind, asString(r["name"]), map[string]string{"configMap": "configmap.yaml", "secret": secretExample}[kind])
				}
				for k, v := range data {
					env[asString(asMap(ef)["prefix"])+k] = v
				}
			}
		}
	}
	for _, e := range asSlice(c["env"]) {
		em := asMap(e)
		name := asString(em["name"])
		if vf := asMap(em["valueFrom"]); vf != nil {
			for _, kind := range []string{"configMap", "secret"} {
				if r := asMap(vf[kind+"KeyRef"]); r != nil {
					data, ok := lookup(kind, asString(r["name"]))
					v, has := data[asString(r["key"])]
					if !ok || !has {
						t.Errorf("%s: env %s refers to %s %s key %s, which is not defined", where, name, kind, asString(r["name"]), asString(r["key"]))
					}
					env[name] = v
				}
			}
			continue
		}
		env[name] = asString(em["value"])
	}
	// Rewrite paths under ConfigMap volumes to real files.
	volumes := map[string]map[string]any{}
	for _, v := range asSlice(w.pod["volumes"]) {
		volumes[asString(asMap(v)["name"])] = asMap(v)
	}
	for _, vm := range asSlice(c["volumeMounts"]) {
		mount := asString(asMap(vm)["mountPath"])
		vol := volumes[asString(asMap(vm)["name"])]
		cm := asMap(vol["configMap"])
		if cm == nil {
			continue
		}
		data, ok := configMaps[asString(cm["name"])]
		if !ok {
			continue
		}
		dir := t.TempDir()
		for k, v := range data {
			if err := os.WriteFile(filepath.Join(dir, k), []byte(v), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		for k, v := range env {
			if rest, ok := strings.CutPrefix(v, strings.TrimSuffix(mount, "/")+"/"); ok {
				env[k] = filepath.Join(dir, rest)
			}
		}
	}
	return env
}

// TestKubernetesWorkloads: every Deployment and Job runs the image built by the
// Dockerfile with a known program; its environment holds only that program's
// variables, all required ones, and passes its Validate.
func TestKubernetesWorkloads(t *testing.T) {
	objs, secrets := manifests(t)
	p := project(t)
	img := consentflowImage(t, p)
	built := builtBinaries(t)
	k := loadKustomization(t)
	for _, im := range k.Images {
		if im.Name != img {
			t.Errorf("%s/kustomization.yaml: images entry %q is not the consentflow image %q", k8sDir, im.Name, img)
		}
		if im.NewTag == "latest" || (im.NewTag == "" && im.Digest == "") {
			t.Errorf("%s/kustomization.yaml: images entry %s: pin newTag (not latest) or digest", k8sDir, im.Name)
		}
	}
	seen := map[string]bool{}
	for _, w := range workloads(objs) {
		for _, c := range containers(w.pod) {
			where := fmt.Sprintf("%s container %s", w.obj.where(), asString(c["name"]))
			image := asString(c["image"])
			if repoOf(image) != img {
				t.Errorf("%s: image %q is not the image built by the Dockerfile (%s)", where, image, img)
				continue
			}
			if err := pinned(image); err != nil {
				t.Errorf("%s: %v", where, err)
			}
			cmd := stringList(c["command"])
			b, err := binaryFor(cmd)
			if err != nil {
				t.Errorf("%s: %v", where, err)
				continue
			}
			if _, ok := built[b.name]; !ok {
				t.Errorf("%s: runs %s, which the Dockerfile does not build", where, b.name)
			}
			if b.longRunning != (w.obj.kind() == "Deployment") {
				t.Errorf("%s: %s belongs in a %s", where, b.name, map[bool]string{true: "Deployment", false: "Job"}[b.longRunning])
			}
			seen[strings.Join(append([]string{b.name}, b.args...), " ")] = true
			checkEnv(t, where, b, containerEnv(t, w, c, objs, secrets))
		}
	}
	for _, b := range binaries {
		if key := strings.Join(append([]string{b.name}, b.args...), " "); !seen[key] {
			t.Errorf("%s: no Deployment or Job runs %s", k8sDir, key)
		}
	}
}

// TestKubernetesPortsProbesAndSecurity: container ports match the listen addresses,
// probes hit /healthz (liveness) and /readyz (readiness) on the ops port, Prometheus
// annotations name the ops port, ports agree with docker-compose, and every
// Deployment has resources, a hardened securityContext, a Service and a PDB.
func TestKubernetesPortsProbesAndSecurity(t *testing.T) {
	objs, secrets := manifests(t)
	p := project(t)
	composePorts := map[string]map[string]string{} // program -> var -> port
	for name, b := range cfServices(t, p) {
		m := map[string]string{}
		for k, v := range p.Services[name].Environment {
			if strings.HasSuffix(k, "_ADDR") {
				m[k] = portOf(v)
			}
		}
		composePorts[b.name] = m
	}
	for _, w := range workloads(objs) {
		if w.obj.kind() != "Deployment" {
			checkPodSecurity(t, w)
			continue
		}
		checkPodSecurity(t, w)
		for _, c := range containers(w.pod) {
			where := fmt.Sprintf("%s container %s", w.obj.where(), asString(c["name"]))
			b, err := binaryFor(stringList(c["command"]))
			if err != nil {
				continue // reported by TestKubernetesWorkloads
			}
			env := containerEnv(t, w, c, objs, secrets)
			ports := map[string]string{} // name -> number
			numbers := map[string]bool{}
			for _, cp := range asSlice(c["ports"]) {
				n := asString(asMap(cp)["containerPort"])
				ports[asString(asMap(cp)["name"])] = n
				numbers[n] = true
			}
			httpVars, opsVar := addrVars(b)
			used := map[string]bool{}
			for _, v := range append(httpVars, opsVar) {
				addr, ok := env[v]
				if !ok {
					if v == opsVar {
						t.Errorf("%s: set OPS_ADDR (probes and metrics)", where)
					}
					continue
				}
				if addr == "" {
					continue
				}
				if !reachable(addr) {
					t.Errorf("%s: %s=%s listens on loopback only; the kubelet and Services cannot reach it", where, v, addr)
				}
				if !numbers[portOf(addr)] {
					t.Errorf("%s: %s=%s but no containerPort %s is declared", where, v, addr, portOf(addr))
				}
				used[portOf(addr)] = true
				if cp, ok := composePorts[b.name][v]; ok && cp != portOf(addr) {
					t.Errorf("%s: %s port %s differs from docker-compose.yml (%s)", where, v, portOf(addr), cp)
				}
			}
			for n := range numbers {
				if !used[n] {
					t.Errorf("%s: containerPort %s matches no listen address of %s", where, n, b.name)
				}
			}
			opsPort := portOf(env[opsVar])
			if ports["ops"] != opsPort {
				t.Errorf("%s: name the OPS_ADDR port %q \"ops\" (got ports %v)", where, opsPort, ports)
			}
			for probe, path := range map[string]string{"livenessProbe": "/healthz", "readinessProbe": "/readyz"} {
				hg := asMap(dig(c, probe, "httpGet"))
				if hg == nil {
					t.Errorf("%s: no %s.httpGet", where, probe)
					continue
				}
				port := asString(hg["port"])
				if named, ok := ports[port]; ok {
					port = named
				}
				if port != opsPort {
					t.Errorf("%s: %s probes port %v, want the ops port %s", where, probe, hg["port"], opsPort)
				}
				if asString(hg["path"]) != path {
					t.Errorf("%s: %s probes %s, want %s", where, probe, asString(hg["path"]), path)
				}
			}
			if ann := asString(asMap(w.meta["annotations"])["prometheus.io/port"]); ann != "" && ann != opsPort {
				t.Errorf("%s: annotation prometheus.io/port=%s but the ops port is %s", where, ann, opsPort)
			}
			for _, kind := range []string{"requests", "limits"} {
				res := asMap(dig(c, "resources", kind))
				if res["cpu"] == nil || res["memory"] == nil {
					t.Errorf("%s: set resources.%s.cpu and .memory", where, kind)
				}
			}
			if s := asMap(c["securityContext"]); s["readOnlyRootFilesystem"] != true || s["allowPrivilegeEscalation"] != false {
				t.Errorf("%s: securityContext needs readOnlyRootFilesystem: true and allowPrivilegeEscalation: false", where)
			}
		}
		checkServiceAndPDB(t, w, objs)
	}
}

func checkPodSecurity(t *testing.T, w workload) {
	t.Helper()
	sc := asMap(w.pod["securityContext"])
	if sc["runAsNonRoot"] != true {
		t.Errorf("%s: pod securityContext.runAsNonRoot must be true", w.obj.where())
	}
	if uid, _ := strconv.Atoi(asString(sc["runAsUser"])); sc["runAsUser"] != nil && uid == 0 {
		t.Errorf("%s: runAsUser 0", w.obj.where())
	}
}

// selects reports whether selector (matchLabels) selects labels.
func selects(selector, labels map[string]any) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if asString(labels[k]) != asString(v) {
			return false
		}
	}
	return true
}

func checkServiceAndPDB(t *testing.T, w workload, objs []object) {
	t.Helper()
	labels := asMap(w.meta["labels"])
	if !selects(asMap(dig(w.obj.Doc, "spec", "selector", "matchLabels")), labels) {
		t.Errorf("%s: spec.selector does not match the pod template labels", w.obj.where())
	}
	portNames, portNumbers := map[string]bool{}, map[string]bool{}
	for _, c := range containers(w.pod) {
		for _, cp := range asSlice(c["ports"]) {
			portNames[asString(asMap(cp)["name"])] = true
			portNumbers[asString(asMap(cp)["containerPort"])] = true
		}
	}
	var hasService, hasPDB bool
	for _, o := range objs {
		switch o.kind() {
		case "Service":
			if !selects(asMap(dig(o.Doc, "spec", "selector")), labels) {
				continue
			}
			hasService = true
			for _, sp := range asSlice(dig(o.Doc, "spec", "ports")) {
				tp := asString(asMap(sp)["targetPort"])
				if tp == "" {
					tp = asString(asMap(sp)["port"])
				}
				if !portNames[tp] && !portNumbers[tp] {
					t.Errorf("%s: targetPort %s is no container port of %s", o.where(), tp, w.obj.where())
				}
			}
		case "PodDisruptionBudget":
			if selects(asMap(dig(o.Doc, "spec", "selector", "matchLabels")), labels) {
				hasPDB = true
				spec := asMap(o.Doc["spec"])
				replicas, _ := strconv.Atoi(asString(dig(w.obj.Doc, "spec", "replicas")))
				if min, err := strconv.Atoi(asString(spec["minAvailable"])); err == nil && min >= replicas {
					t.Errorf("%s: minAvailable %d >= replicas %d blocks every node drain", o.where(), min, replicas)
				}
			}
		}
	}
	if !hasService {
		t.Errorf("%s: no Service selects its pods (the ops port at least must be reachable)", w.obj.where())
	}
	if !hasPDB {
		t.Errorf("%s: no PodDisruptionBudget selects its pods", w.obj.where())
	}
}

// TestKubernetesVolumes: volumes refer to ConfigMaps, Secrets and claims that exist,
// and every volumeMount names a volume of its pod.
func TestKubernetesVolumes(t *testing.T) {
	objs, secrets := manifests(t)
	defined := map[string]map[string]bool{"ConfigMap": {}, "PersistentVolumeClaim": {}}
	for _, o := range objs {
		if defined[o.kind()] != nil {
			defined[o.kind()][o.name()] = true
		}
	}
	for _, w := range workloads(objs) {
		var names []string
		for _, v := range asSlice(w.pod["volumes"]) {
			vm := asMap(v)
			names = append(names, asString(vm["name"]))
			if cm := asMap(vm["configMap"]); cm != nil && !defined["ConfigMap"][asString(cm["name"])] {
				t.Errorf("%s: volume uses ConfigMap %s, which is not defined", w.obj.where(), asString(cm["name"]))
			}
			if s := asMap(vm["secret"]); s != nil {
				if _, ok := secrets[asString(s["secretName"])]; !ok {
					t.Errorf("%s: volume uses Secret %s, which %s does not define", w.obj.where(), asString(s["secretName"]), secretExample)
				}
			}
			if pvc := asMap(vm["persistentVolumeClaim"]); pvc != nil && !defined["PersistentVolumeClaim"][asString(pvc["claimName"])] {
				t.Errorf("%s: volume uses claim %s, which is not defined", w.obj.where(), asString(pvc["claimName"]))
			}
		}
		sort.Strings(names)
		for _, c := range containers(w.pod) {
			for _, m := range asSlice(c["volumeMounts"]) {
				if n := asString(asMap(m)["name"]); sort.SearchStrings(names, n) == len(names) || names[sort.SearchStrings(names, n)] != n {
					t.Errorf("%s: volumeMount %s names no volume", w.obj.where(), n)
				}
			}
		}
	}
}
