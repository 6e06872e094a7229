// k8s-validate: strict decoding of rendered Kubernetes manifests into the API types.
//
// Reads multi-document YAML (files named as arguments, or stdin when none or "-") and decodes every
// document strictly — unknown fields, duplicate fields and wrong types are errors — into the Go
// types of Kubernetes (client-go's scheme: core, apps, policy, networking, autoscaling, …),
// KEDA (keda.sh/v1alpha1: ScaledObject, TriggerAuthentication, …) and the Prometheus operator
// (monitoring.coreos.com/v1: ServiceMonitor). A document whose apiVersion/kind is in none of those
// schemes is an error too. Empty documents (from conditional templates) are skipped. A ScaledObject
// also passes KEDA's own admission checks that need no cluster (ValidateTriggers, replica bounds,
// fallback), and its metrics-api triggers' metadata is checked against that scaler's parameters
// (KEDA v2.21 pkg/scalers/metrics_api_scaler.go: required url, valueLocation and a numeric
// targetValue; known keys only; format and aggregationType from their enums). With
// --pod-security LEVEL (privileged, baseline, restricted), every pod template (Pod, Deployment,
// StatefulSet, DaemonSet, ReplicaSet, Job, CronJob) is also evaluated by Kubernetes' own Pod
// Security Admission checks (k8s.io/pod-security-admission, latest policy version) at that level.
//
// Output: one line per document on stdout, "ok <apiVersion> <kind> <name>"; errors on stderr as
// "<source>#<document index>: <kind>/<name>: <error>". Exit status 0 when every document decoded, 1
// when any failed, 2 on usage or I/O errors. With --json, stdout is one JSON array of
// {"source","index","apiVersion","kind","name","error"} instead.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	kedav1alpha1 "github.com/kedacore/keda/v2/apis/keda/v1alpha1"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
	psaapi "k8s.io/pod-security-admission/api"
	psapolicy "k8s.io/pod-security-admission/policy"
	"sigs.k8s.io/yaml"
)

type result struct {
	Source     string `json:"source"`
	Index      int    `json:"index"`
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	Error      string `json:"error,omitempty"`
}

func newScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := scheme.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := kedav1alpha1.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := monitoringv1.AddToScheme(s); err != nil {
		return nil, err
	}
	return s, nil
}

type header struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
}

// podSecurity evaluates pod templates at a Pod Security level; nil when not asked for.
type podSecurity struct {
	evaluator psapolicy.Evaluator
	level     psaapi.LevelVersion
}

func (p *podSecurity) check(obj runtime.Object) error {
	if p == nil {
		return nil
	}
	var meta *metav1.ObjectMeta
	var spec *corev1.PodSpec
	switch o := obj.(type) {
	case *corev1.Pod:
		meta, spec = &o.ObjectMeta, &o.Spec
	case *appsv1.Deployment:
		meta, spec = &o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec
	case *appsv1.StatefulSet:
		meta, spec = &o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec
	case *appsv1.DaemonSet:
		meta, spec = &o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec
	case *appsv1.ReplicaSet:
		meta, spec = &o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec
	case *batchv1.Job:
		meta, spec = &o.Spec.Template.ObjectMeta, &o.Spec.Template.Spec
	case *batchv1.CronJob:
		meta, spec = &o.Spec.JobTemplate.Spec.Template.ObjectMeta, &o.Spec.JobTemplate.Spec.Template.Spec
	default:
		return nil
	}
	var failed []string
	for _, r := range p.evaluator.EvaluatePod(p.level, meta, spec) {
		if !r.Allowed {
			failed = append(failed, fmt.Sprintf("%s (%s)", r.ForbiddenReason, r.ForbiddenDetail))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("violates PodSecurity %q: %v", p.level.Level, failed)
	}
	return nil
}

func validate(s *runtime.Scheme, ps *podSecurity, source string, r io.Reader) ([]result, error) {
	decoder := serializer.NewCodecFactory(s, serializer.EnableStrict).UniversalDeserializer()
	reader := utilyaml.NewYAMLReader(bufio.NewReader(r))
	var out []result
	for index := 0; ; index++ {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("%s: reading document %d: %w", source, index, err)
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		res := result{Source: source, Index: index}
		// YAML → JSON strictly: duplicate keys are an error here (the JSON decoder would keep the last).
		js, err := yaml.YAMLToJSONStrict(doc)
		if err != nil {
			res.Error = "yaml: " + err.Error()
			out = append(out, res)
			continue
		}
		var h header
		if err := json.Unmarshal(js, &h); err != nil {
			res.Error = "header: " + err.Error()
			out = append(out, res)
			continue
		}
		res.APIVersion, res.Kind, res.Name = h.APIVersion, h.Kind, h.Metadata.Name
		gv, err := schema.ParseGroupVersion(h.APIVersion)
		if err != nil || h.Kind == "" {
			res.Error = fmt.Sprintf("missing or bad apiVersion/kind (%q, %q)", h.APIVersion, h.Kind)
			out = append(out, res)
			continue
		}
		if !s.Recognizes(gv.WithKind(h.Kind)) {
			res.Error = fmt.Sprintf("unknown kind %s %s (not in the Kubernetes, KEDA or Prometheus operator schemes)", h.APIVersion, h.Kind)
			out = append(out, res)
			continue
		}
		obj, _, err := decoder.Decode(js, nil, nil)
		if err != nil {
			res.Error = err.Error()
		} else if h.Metadata.Name == "" {
			res.Error = "metadata.name is empty"
		} else if so, ok := obj.(*kedav1alpha1.ScaledObject); ok {
			if err := checkScaledObject(so); err != nil {
				res.Error = "keda: " + err.Error()
			}
		} else if err := ps.check(obj); err != nil {
			res.Error = err.Error()
		}
		out = append(out, res)
	}
}

// metricsAPIKeys: the trigger metadata metrics-api understands (KEDA v2.21), with enums where it has them.
var metricsAPIKeys = map[string][]string{
	"url": nil, "valueLocation": nil, "targetValue": nil, "activationTargetValue": nil, "unsafeSsl": nil,
	"format":                            {"json", "prometheus", "xml", "yaml"},
	"aggregationType":                   {"average", "sum", "max", "min"},
	"aggregateFromKubeServiceEndpoints": nil, "timeout": nil, "authMode": nil, "method": nil, "keyParamName": nil,
}

func checkScaledObject(so *kedav1alpha1.ScaledObject) error {
	if err := kedav1alpha1.ValidateTriggers(so.Spec.Triggers); err != nil {
		return err
	}
	if err := kedav1alpha1.CheckReplicaCountBoundsAreValid(so); err != nil {
		return err
	}
	if err := kedav1alpha1.CheckFallbackValid(so); err != nil {
		return err
	}
	for i, t := range so.Spec.Triggers {
		if t.Type != "metrics-api" {
			continue
		}
		for k, v := range t.Metadata {
			allowed, known := metricsAPIKeys[k]
			if !known {
				return fmt.Errorf("trigger %d (metrics-api): unknown metadata key %q", i, k)
			}
			if allowed != nil && !contains(allowed, v) {
				return fmt.Errorf("trigger %d (metrics-api): %s=%q is not one of %v", i, k, v, allowed)
			}
		}
		for _, k := range []string{"url", "valueLocation"} {
			if t.Metadata[k] == "" {
				return fmt.Errorf("trigger %d (metrics-api): metadata.%s is required", i, k)
			}
		}
		if t.MetricType != "Value" || t.Metadata["targetValue"] != "" {
			if _, err := strconv.ParseFloat(t.Metadata["targetValue"], 64); err != nil {
				return fmt.Errorf("trigger %d (metrics-api): metadata.targetValue must be a number, got %q", i, t.Metadata["targetValue"])
			}
		}
	}
	return nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// stripComments drops comment-only lines so that a document holding only Helm's "# Source:" line
// counts as empty.
func stripComments(doc []byte) []byte {
	var b bytes.Buffer
	for _, line := range bytes.Split(doc, []byte("\n")) {
		t := bytes.TrimSpace(line)
		if len(t) > 0 && t[0] == '#' {
			continue
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func main() {
	args := os.Args[1:]
	asJSON := false
	level := ""
	var files []string
	for i := 0; i < len(args); i++ {
		switch a := args[i]; a {
		case "--json":
			asJSON = true
		case "--pod-security":
			if i+1 >= len(args) {
				fmt.Fprintln(os.Stderr, "k8s-validate: --pod-security needs a level")
				os.Exit(2)
			}
			i++
			level = args[i]
		case "-h", "--help":
			fmt.Println("usage: k8s-validate [--json] [--pod-security privileged|baseline|restricted] [FILE...]   (stdin when no FILE or FILE is -)")
			return
		default:
			files = append(files, a)
		}
	}
	var ps *podSecurity
	if level != "" {
		lv, err := psaapi.ParseLevel(level)
		if err != nil {
			fmt.Fprintln(os.Stderr, "k8s-validate: --pod-security:", err)
			os.Exit(2)
		}
		ev, err := psapolicy.NewEvaluator(psapolicy.DefaultChecks(), nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, "k8s-validate: pod security evaluator:", err)
			os.Exit(2)
		}
		ps = &podSecurity{evaluator: ev, level: psaapi.LevelVersion{Level: lv, Version: psaapi.LatestVersion()}}
	}
	if len(files) == 0 {
		files = []string{"-"}
	}
	s, err := newScheme()
	if err != nil {
		fmt.Fprintln(os.Stderr, "k8s-validate: scheme:", err)
		os.Exit(2)
	}
	var all []result
	for _, f := range files {
		var r io.Reader = os.Stdin
		name := "<stdin>"
		if f != "-" {
			fh, err := os.Open(f)
			if err != nil {
				fmt.Fprintln(os.Stderr, "k8s-validate:", err)
				os.Exit(2)
			}
			defer fh.Close()
			r, name = fh, f
		}
		res, err := validate(s, ps, name, r)
		all = append(all, res...)
		if err != nil {
			fmt.Fprintln(os.Stderr, "k8s-validate:", err)
			os.Exit(2)
		}
	}
	failed := 0
	for _, r := range all {
		if r.Error != "" {
			failed++
			fmt.Fprintf(os.Stderr, "%s#%d: %s/%s: %s\n", r.Source, r.Index, r.Kind, r.Name, r.Error)
		} else if !asJSON {
			fmt.Printf("ok %s %s %s\n", r.APIVersion, r.Kind, r.Name)
		}
	}
	if asJSON {
		if all == nil {
			all = []result{}
		}
		enc := json.NewEncoder(os.Stdout)
		if err := enc.Encode(all); err != nil {
			os.Exit(2)
		}
	}
	if failed > 0 {
		os.Exit(1)
	}
}
