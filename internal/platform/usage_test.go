package platform

import (
	"maps"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

const (
	h100 = "nvidia.com/gpu-h100"
	a100 = "nvidia.com/gpu-a100"
)

// testResources is a ResourceList from resource names and quantities.
func testResources(m map[string]string) corev1.ResourceList {
	if m == nil {
		return nil
	}
	rl := corev1.ResourceList{}
	for k, v := range m {
		rl[corev1.ResourceName(k)] = resource.MustParse(v)
	}
	return rl
}

// ctr is a container with requests and limits.
func ctr(name string, requests, limits map[string]string) corev1.Container {
	return corev1.Container{Name: name, Image: "gpuplane.invalid/" + name,
		Resources: corev1.ResourceRequirements{Requests: testResources(requests), Limits: testResources(limits)}}
}

// sidecar is a restartable init container (restartPolicy Always).
func sidecar(name string, requests, limits map[string]string) corev1.Container {
	c := ctr(name, requests, limits)
	always := corev1.ContainerRestartPolicyAlways
	c.RestartPolicy = &always
	return c
}

// gpuCount is a request (or limit) of n GPUs of resource r.
func gpuCount(r, n string) map[string]string { return map[string]string{r: n} }

func TestPodRequests(t *testing.T) {
	tests := []struct {
		name string
		spec corev1.PodSpec
		want map[string]int64
	}{
		{
			name: "containers only add up",
			spec: corev1.PodSpec{Containers: []corev1.Container{
				ctr("a", gpuCount(h100, "2"), gpuCount(h100, "2")), ctr("b", gpuCount(h100, "1"), gpuCount(h100, "1"))}},
			want: map[string]int64{h100: 3},
		},
		{
			name: "an init container larger than the containers is the request",
			spec: corev1.PodSpec{
				InitContainers: []corev1.Container{ctr("init", gpuCount(h100, "4"), gpuCount(h100, "4"))},
				Containers:     []corev1.Container{ctr("a", gpuCount(h100, "2"), gpuCount(h100, "2"))}},
			want: map[string]int64{h100: 4},
		},
		{
			name: "a sidecar adds to the containers",
			spec: corev1.PodSpec{
				InitContainers: []corev1.Container{sidecar("side", gpuCount(h100, "2"), gpuCount(h100, "2"))},
				Containers:     []corev1.Container{ctr("a", gpuCount(h100, "3"), gpuCount(h100, "3"))}},
			want: map[string]int64{h100: 5},
		},
		{
			name: "a plain init container after a sidecar counts with it",
			spec: corev1.PodSpec{
				InitContainers: []corev1.Container{
					sidecar("side", gpuCount(h100, "2"), gpuCount(h100, "2")), ctr("init", gpuCount(h100, "4"), gpuCount(h100, "4"))},
				Containers: []corev1.Container{ctr("a", gpuCount(h100, "1"), gpuCount(h100, "1"))}},
			want: map[string]int64{h100: 6}, // max(1+2, 4+2)
		},
		{
			name: "a plain init container before a sidecar does not count with it",
			spec: corev1.PodSpec{
				InitContainers: []corev1.Container{
					ctr("init", gpuCount(h100, "5"), gpuCount(h100, "5")), sidecar("side", gpuCount(h100, "2"), gpuCount(h100, "2"))},
				Containers: []corev1.Container{ctr("a", gpuCount(h100, "4"), gpuCount(h100, "4"))}},
			want: map[string]int64{h100: 6}, // max(4+2, 5), not 5+2
		},
		{
			name: "for an extended resource a limit alone stands for the request",
			spec: corev1.PodSpec{
				InitContainers: []corev1.Container{sidecar("side", nil, gpuCount(h100, "1"))},
				Containers: []corev1.Container{
					ctr("a", nil, gpuCount(h100, "2")),
					ctr("b", map[string]string{"cpu": "1"}, map[string]string{"cpu": "1", h100: "1"})}},
			want: map[string]int64{h100: 4, "cpu": 1},
		},
		{
			name: "several resources, each with its own arithmetic",
			spec: corev1.PodSpec{
				InitContainers: []corev1.Container{
					sidecar("side", map[string]string{a100: "1", h100: "1", "cpu": "500m"}, map[string]string{a100: "1", h100: "1"}),
					ctr("init", map[string]string{h100: "3", "cpu": "2"}, gpuCount(h100, "3"))},
				Containers: []corev1.Container{ctr("a", map[string]string{h100: "2", "cpu": "1"}, gpuCount(h100, "2"))}},
			// h100 max(2+1, 3+1); a100 1; cpu max(1+0.5, 2+0.5) rounded up.
			want: map[string]int64{h100: 4, a100: 1, "cpu": 3},
		},
		{
			name: "overhead does not count and pod-level resources leave GPUs alone",
			spec: corev1.PodSpec{
				Overhead:   testResources(map[string]string{"cpu": "1"}),
				Resources:  &corev1.ResourceRequirements{Requests: testResources(map[string]string{"cpu": "4"})},
				Containers: []corev1.Container{ctr("a", map[string]string{h100: "1", "cpu": "1"}, gpuCount(h100, "1"))}},
			want: map[string]int64{h100: 1, "cpu": 4},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &corev1.Pod{Spec: tt.spec}
			before := pod.DeepCopy()
			got := podRequests(pod)
			if !maps.Equal(got, tt.want) {
				t.Errorf("podRequests = %v, want %v", got, tt.want)
			}
			if !reflect.DeepEqual(pod, before) {
				t.Errorf("podRequests modified the pod: %+v", pod.Spec)
			}
		})
	}
}
