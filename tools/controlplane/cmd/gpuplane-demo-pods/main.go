// Command gpuplane-demo-pods creates a few GPU pods in the quickstart's
// project namespaces, so that `make demo` can show GPU usage, and with
// -delete removes them again (before `make demo-down` destroys the
// projects, which deletion protection refuses while pods run). The pods
// stay Pending: the local control plane has no kubelet.
package main

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
)

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig written by gpuplane-controlplane")
	remove := flag.Bool("delete", false, "delete the demo's pods instead of creating them")
	flag.Parse()
	log.SetFlags(0)
	b, err := os.ReadFile(*kubeconfig)
	if err != nil {
		log.Fatal(err)
	}
	var kc struct {
		Clusters []struct {
			Cluster struct{ Server string } `json:"cluster"`
		} `json:"clusters"`
		Users []struct {
			User struct{ Token string } `json:"user"`
		} `json:"users"`
	}
	if err := json.Unmarshal(b, &kc); err != nil || len(kc.Clusters) == 0 || len(kc.Users) == 0 {
		log.Fatalf("%s is not a kubeconfig of gpuplane-controlplane: %v", *kubeconfig, err)
	}
	server, token := kc.Clusters[0].Cluster.Server, kc.Users[0].User.Token
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // loopback demo cluster
	// Each pod selects its pool: the tenant lists computes, so gpuplane's
	// placement policy refuses pods that select none of them.
	for _, p := range []struct {
		ns, name, resource, pool string
		gpus                     int
	}{
		{"research-vision", "train-1", "nvidia.com/gpu-h100", "h100", 4},
		{"research-vision", "train-2", "nvidia.com/gpu-h100", "h100", 2},
		{"research-vision", "notebook", "nvidia.com/mig-1g.10gb", "a100", 1},
		{"research-nlp", "serve", "nvidia.com/gpu-h100", "h100", 1},
	} {
		pod := map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": p.name},
			"spec": map[string]any{"nodeSelector": map[string]string{"pool": p.pool},
				"containers": []any{map[string]any{"name": "main", "image": "registry.example/train:1",
					"resources": map[string]any{"limits": map[string]any{p.resource: fmt.Sprint(p.gpus)}}}}}}
		body, _ := json.Marshal(pod)
		req, _ := http.NewRequest(http.MethodPost, server+"/api/v1/namespaces/"+p.ns+"/pods", bytes.NewReader(body))
		if *remove {
			req, _ = http.NewRequest(http.MethodDelete, server+"/api/v1/namespaces/"+p.ns+"/pods/"+p.name+"?gracePeriodSeconds=0", nil)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case *remove && (resp.StatusCode < 300 || resp.StatusCode == http.StatusNotFound):
			fmt.Printf("pod %s/%s deleted\n", p.ns, p.name)
		case resp.StatusCode < 300:
			fmt.Printf("pod %s/%s: %d x %s (Pending)\n", p.ns, p.name, p.gpus, p.resource)
		case resp.StatusCode == http.StatusConflict:
			fmt.Printf("pod %s/%s exists\n", p.ns, p.name)
		default:
			log.Fatalf("pod %s/%s: %s: %s", p.ns, p.name, resp.Status, msg)
		}
	}
}
