package deploy

import (
	"cmp"
	"fmt"
	"maps"
	"net"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

type k8sMeta struct {
	Name   string            `yaml:"name"`
	Labels map[string]string `yaml:"labels"`
}

type k8sObject struct {
	APIVersion string  `yaml:"apiVersion"`
	Kind       string  `yaml:"kind"`
	Metadata   k8sMeta `yaml:"metadata"`
	file       string
	node       *yaml.Node
}

type k8sSelector struct {
	MatchLabels map[string]string `yaml:"matchLabels"`
}

type deployment struct {
	Spec struct {
		Replicas int         `yaml:"replicas"`
		Selector k8sSelector `yaml:"selector"`
		Strategy struct {
			Type          string `yaml:"type"`
			RollingUpdate struct {
				MaxUnavailable string `yaml:"maxUnavailable"`
				MaxSurge       string `yaml:"maxSurge"`
			} `yaml:"rollingUpdate"`
		} `yaml:"strategy"`
		Template struct {
			Metadata k8sMeta `yaml:"metadata"`
			Spec     podSpec `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type podSpec struct {
	TerminationGracePeriodSeconds *int `yaml:"terminationGracePeriodSeconds"`
	SecurityContext               struct {
		RunAsNonRoot *bool `yaml:"runAsNonRoot"`
	} `yaml:"securityContext"`
	Containers []container `yaml:"containers"`
}

type container struct {
	Name    string `yaml:"name"`
	Image   string `yaml:"image"`
	EnvFrom []struct {
		ConfigMapRef *struct{ Name string } `yaml:"configMapRef"`
		SecretRef    *struct{ Name string } `yaml:"secretRef"`
	} `yaml:"envFrom"`
	Env []struct {
		Name string `yaml:"name"`
	} `yaml:"env"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	ReadinessProbe *probe `yaml:"readinessProbe"`
	LivenessProbe  *probe `yaml:"livenessProbe"`
	Resources      struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	SecurityContext struct {
		RunAsNonRoot             *bool `yaml:"runAsNonRoot"`
		ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
	} `yaml:"securityContext"`
}

type probe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port string `yaml:"port"`
	} `yaml:"httpGet"`
}

type service struct {
	Spec struct {
		Selector map[string]string `yaml:"selector"`
		Ports    []struct {
			Port       int    `yaml:"port"`
			TargetPort string `yaml:"targetPort"`
		} `yaml:"ports"`
	} `yaml:"spec"`
}

type pdb struct {
	Spec struct {
		MinAvailable int         `yaml:"minAvailable"`
		Selector     k8sSelector `yaml:"selector"`
	} `yaml:"spec"`
}

// cluster is every Kubernetes object of deploy/kubernetes, by kind.
type cluster struct {
	objects    map[string][]k8sObject
	deployment deployment
	data       map[string]map[string]string // ConfigMap and Secret: name → data
	secrets    map[string]map[string]string
}

func loadCluster(t *testing.T) cluster {
	t.Helper()
	c := cluster{objects: map[string][]k8sObject{}, data: map[string]map[string]string{}, secrets: map[string]map[string]string{}}
	for file, docs := range yamlDocs(t) {
		if !strings.HasPrefix(file, "kubernetes/") || file == "kubernetes/kustomization.yaml" {
			continue
		}
		for _, n := range docs {
			o := k8sObject{file: file, node: n}
			if err := n.Decode(&o); err != nil || o.APIVersion == "" || o.Kind == "" || o.Metadata.Name == "" {
				t.Fatalf("%s: want apiVersion, kind and metadata.name (%v)", file, err)
			}
			c.objects[o.Kind] = append(c.objects[o.Kind], o)
			c.decodeData(t, o)
		}
	}
	for _, kind := range []string{"Deployment", "Secret", "ConfigMap", "Service"} {
		if len(c.objects[kind]) != 1 {
			t.Fatalf("%d objects of kind %s, want 1", len(c.objects[kind]), kind)
		}
	}
	c.decode(t, "Deployment", &c.deployment)
	return c
}

func (c cluster) decodeData(t *testing.T, o k8sObject) {
	t.Helper()
	var d struct {
		Data       map[string]string `yaml:"data"`
		StringData map[string]string `yaml:"stringData"`
	}
	if err := o.node.Decode(&d); err != nil {
		t.Fatalf("%s: %v", o.file, err)
	}
	switch o.Kind {
	case "ConfigMap":
		c.data[o.Metadata.Name] = d.Data
	case "Secret":
		if len(d.Data) > 0 {
			t.Errorf("%s: use stringData with placeholders, not data", o.file)
		}
		c.secrets[o.Metadata.Name] = d.StringData
	}
}

// decode decodes the one object of kind into v.
func (c cluster) decode(t *testing.T, kind string, v any) {
	t.Helper()
	o := c.objects[kind][0]
	if err := o.node.Decode(v); err != nil {
		t.Fatalf("%s: %v", o.file, err)
	}
}

func kubernetesVars(t *testing.T) []setVar {
	t.Helper()
	c := loadCluster(t)
	var vars []setVar
	for _, m := range []map[string]map[string]string{c.data, c.secrets} {
		for name, data := range m {
			for k := range data {
				vars = append(vars, setVar{"kubernetes " + name, k})
			}
		}
	}
	for _, ct := range c.deployment.Spec.Template.Spec.Containers {
		for _, e := range ct.Env {
			vars = append(vars, setVar{"kubernetes Deployment container " + ct.Name, e.Name})
		}
	}
	return vars
}

func TestKubernetes(t *testing.T) {
	c := loadCluster(t)
	tests := []struct {
		name  string
		check func(*testing.T, cluster) error
	}{
		{"two or more replicas, rolling one at a time", checkReplicas},
		{"probes: readiness /readyz, liveness /healthz on HTTP_ADDR", checkProbes},
		{"settings from the ConfigMap, secrets from the Secret", checkEnvFrom},
		{"secret holds the tokens, the key and DATABASE_URL", checkSecretKeys},
		{"non-root, read-only, with resources and time to drain", checkHardening},
		{"the Service reaches the pods' HTTP port", checkService},
		{"a PodDisruptionBudget, if any, leaves a replica", checkPDB},
		{"no PostgreSQL: operators bring their own", checkNoPostgres},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.check(t, c); err != nil {
				t.Error(err)
			}
		})
	}
}

// bot is the soebot container of the Deployment.
func (c cluster) bot() (container, error) {
	cs := c.deployment.Spec.Template.Spec.Containers
	if len(cs) != 1 {
		return container{}, fmt.Errorf("%d containers in the Deployment, want 1", len(cs))
	}
	return cs[0], nil
}

func checkReplicas(_ *testing.T, c cluster) error {
	s := c.deployment.Spec
	ru := s.Strategy.RollingUpdate
	switch {
	case s.Replicas < 2:
		return fmt.Errorf("replicas %d, want 2 or more", s.Replicas)
	case s.Strategy.Type != "RollingUpdate" || ru.MaxUnavailable != "0" || ru.MaxSurge != "1":
		return fmt.Errorf("strategy %+v, want RollingUpdate with maxUnavailable 0, maxSurge 1", s.Strategy)
	case len(s.Selector.MatchLabels) == 0 || !subset(s.Selector.MatchLabels, s.Template.Metadata.Labels):
		return fmt.Errorf("selector %v does not match the pod labels %v", s.Selector.MatchLabels, s.Template.Metadata.Labels)
	}
	return nil
}

func checkProbes(_ *testing.T, c cluster) error {
	ct, err := c.bot()
	if err != nil {
		return err
	}
	port, err := c.httpPort(ct)
	if err != nil {
		return err
	}
	for _, p := range []struct {
		name, path string
		probe      *probe
	}{{"readinessProbe", "/readyz", ct.ReadinessProbe}, {"livenessProbe", "/healthz", ct.LivenessProbe}} {
		if p.probe == nil || p.probe.HTTPGet == nil || p.probe.HTTPGet.Path != p.path {
			return fmt.Errorf("%s is not an httpGet of %s", p.name, p.path)
		}
		if p.probe.HTTPGet.Port != port.name && p.probe.HTTPGet.Port != strconv.Itoa(port.number) {
			return fmt.Errorf("%s probes port %s, not HTTP_ADDR's %d", p.name, p.probe.HTTPGet.Port, port.number)
		}
	}
	return nil
}

type namedPort struct {
	name   string
	number int
}

// httpPort is the container port of HTTP_ADDR (from the ConfigMap).
func (c cluster) httpPort(ct container) (namedPort, error) {
	var addr string
	for _, d := range c.data {
		addr = cmp.Or(d["HTTP_ADDR"], addr)
	}
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return namedPort{}, fmt.Errorf("ConfigMap HTTP_ADDR %q: %w", addr, err)
	}
	for _, cp := range ct.Ports {
		if strconv.Itoa(cp.ContainerPort) == p {
			return namedPort{cp.Name, cp.ContainerPort}, nil
		}
	}
	return namedPort{}, fmt.Errorf("no container port %s (HTTP_ADDR %s)", p, addr)
}

func checkEnvFrom(_ *testing.T, c cluster) error {
	ct, err := c.bot()
	if err != nil {
		return err
	}
	var fromSecret, fromConfig bool
	for _, ef := range ct.EnvFrom {
		if ef.SecretRef != nil {
			if _, ok := c.secrets[ef.SecretRef.Name]; !ok {
				return fmt.Errorf("envFrom names Secret %q, which is not in deploy/kubernetes", ef.SecretRef.Name)
			}
			fromSecret = true
		}
		if ef.ConfigMapRef != nil {
			if _, ok := c.data[ef.ConfigMapRef.Name]; !ok {
				return fmt.Errorf("envFrom names ConfigMap %q, which is not in deploy/kubernetes", ef.ConfigMapRef.Name)
			}
			fromConfig = true
		}
	}
	if !fromSecret || !fromConfig {
		return fmt.Errorf("envFrom: secretRef %v, configMapRef %v; want both", fromSecret, fromConfig)
	}
	return nil
}

func checkSecretKeys(_ *testing.T, c cluster) error {
	for _, data := range c.secrets {
		for _, k := range []string{"SLACK_APP_TOKEN", "SLACK_BOT_TOKEN", "TOKEN_KEY", "DATABASE_URL"} {
			if _, ok := data[k]; !ok {
				return fmt.Errorf("the Secret has no %s", k)
			}
		}
	}
	for name, data := range c.data {
		for k := range data {
			if slices.Contains(secretVars, k) {
				return fmt.Errorf("ConfigMap %s holds %s, a secret: put it in the Secret", name, k)
			}
		}
	}
	return nil
}

func checkHardening(_ *testing.T, c cluster) error {
	ps := c.deployment.Spec.Template.Spec
	ct, err := c.bot()
	if err != nil {
		return err
	}
	sc := ct.SecurityContext
	switch {
	case !isTrue(ps.SecurityContext.RunAsNonRoot) && !isTrue(sc.RunAsNonRoot):
		return fmt.Errorf("runAsNonRoot is not true")
	case !isTrue(sc.ReadOnlyRootFilesystem):
		return fmt.Errorf("readOnlyRootFilesystem is not true")
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		return fmt.Errorf("allowPrivilegeEscalation is not false")
	case ct.Resources.Requests["cpu"] == "" || ct.Resources.Requests["memory"] == "" || ct.Resources.Limits["memory"] == "":
		return fmt.Errorf("resources %+v: want cpu and memory requests and a memory limit", ct.Resources)
	case ps.TerminationGracePeriodSeconds == nil || *ps.TerminationGracePeriodSeconds < 15:
		return fmt.Errorf("terminationGracePeriodSeconds must leave 15 s or more to drain (10 s handlers, 5 s HTTP)")
	}
	return nil
}

func isTrue(b *bool) bool { return b != nil && *b }

func checkService(t *testing.T, c cluster) error {
	var s service
	c.decode(t, "Service", &s)
	ct, err := c.bot()
	if err != nil {
		return err
	}
	port, err := c.httpPort(ct)
	if err != nil {
		return err
	}
	if len(s.Spec.Selector) == 0 || !subset(s.Spec.Selector, c.deployment.Spec.Template.Metadata.Labels) {
		return fmt.Errorf("the Service selector %v does not select the pods", s.Spec.Selector)
	}
	for _, p := range s.Spec.Ports {
		if p.TargetPort == port.name || p.TargetPort == strconv.Itoa(port.number) {
			return nil
		}
	}
	return fmt.Errorf("no Service port targets the HTTP port %d", port.number)
}

func checkPDB(t *testing.T, c cluster) error {
	if len(c.objects["PodDisruptionBudget"]) == 0 {
		return nil
	}
	var p pdb
	c.decode(t, "PodDisruptionBudget", &p)
	if p.Spec.MinAvailable < 1 || p.Spec.MinAvailable >= c.deployment.Spec.Replicas {
		return fmt.Errorf("minAvailable %d: want 1 or more and fewer than the replicas", p.Spec.MinAvailable)
	}
	if !subset(p.Spec.Selector.MatchLabels, c.deployment.Spec.Template.Metadata.Labels) {
		return fmt.Errorf("the PodDisruptionBudget does not select the pods")
	}
	return nil
}

func checkNoPostgres(_ *testing.T, c cluster) error {
	for kind := range c.objects {
		if kind == "StatefulSet" {
			return fmt.Errorf("a StatefulSet: deploy/kubernetes runs no database")
		}
	}
	for _, ct := range c.deployment.Spec.Template.Spec.Containers {
		if strings.Contains(ct.Image, "postgres") {
			return fmt.Errorf("container %s runs %s", ct.Name, ct.Image)
		}
	}
	return nil
}

func subset(sel, labels map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// TestKustomizationListsEveryManifest: kubectl apply -k applies them all.
func TestKustomizationListsEveryManifest(t *testing.T) {
	docs := yamlDocs(t)
	var k struct {
		Kind      string   `yaml:"kind"`
		Resources []string `yaml:"resources"`
	}
	if err := docs["kubernetes/kustomization.yaml"][0].Decode(&k); err != nil || k.Kind != "Kustomization" {
		t.Fatalf("kustomization.yaml: kind %q, %v", k.Kind, err)
	}
	var files []string
	for f := range maps.Keys(docs) {
		if dir, base := path.Split(f); dir == "kubernetes/" && base != "kustomization.yaml" {
			files = append(files, base)
		}
	}
	slices.Sort(files)
	slices.Sort(k.Resources)
	if !slices.Equal(files, k.Resources) {
		t.Errorf("kustomization resources %v, manifests %v", k.Resources, files)
	}
}
