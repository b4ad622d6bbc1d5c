package quota

import (
	"reflect"
	"testing"
)

func TestAttributeUsage(t *testing.T) {
	c := Catalog{
		"H100":    {ResourceName: "nvidia.com/gpu-h100"},
		"A100-1g": {ResourceName: "nvidia.com/mig-1g.10gb"},
		// Two families behind one resource name, told apart by node labels.
		"L4":   {ResourceName: "nvidia.com/gpu", NodeSelector: map[string]string{"gpu": "l4"}},
		"T4":   {ResourceName: "nvidia.com/gpu", NodeSelector: map[string]string{"gpu": "t4"}},
		"B200": {DeviceClass: "b200.nvidia.com"},
	}
	nodes := map[string]map[string]string{"n-l4": {"gpu": "l4"}, "n-t4": {"gpu": "t4"}, "n-cpu": {}}
	pods := []PodGPUs{
		{Namespace: "a", Resources: map[string]int64{"nvidia.com/gpu-h100": 2, "cpu": 4}},
		{Namespace: "a", Resources: map[string]int64{"nvidia.com/gpu-h100": 1, "nvidia.com/mig-1g.10gb": 3}},
		{Namespace: "b", Node: "n-l4", Resources: map[string]int64{"nvidia.com/gpu": 1}},
		{Namespace: "b", Node: "n-t4", Resources: map[string]int64{"nvidia.com/gpu": 2}},
		{Namespace: "b", NodeSelector: map[string]string{"gpu": "t4"}, Resources: map[string]int64{"nvidia.com/gpu": 4}}, // pending
		{Namespace: "b", Resources: map[string]int64{"nvidia.com/gpu": 8}},                                               // pending, no selector
		{Namespace: "b", Node: "n-cpu", Resources: map[string]int64{"nvidia.com/gpu": 16}},                               // node of no family
		{Namespace: "c", Resources: map[string]int64{"amd.com/gpu": 1, "hugepages-2Mi": 5, "example.kubernetes.io/x": 1}},
		{Namespace: "c", Resources: map[string]int64{"nvidia.com/gpu-h100": 0}},
	}
	got := AttributeUsage(pods, c, nodes)
	want := Usage{
		ByNamespace: map[string]map[string]int64{
			"a": {"H100": 3, "A100-1g": 3},
			"b": {"L4": 1, "T4": 6},
		},
		Unattributed: map[string]int64{"nvidia.com/gpu": 24, "amd.com/gpu": 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if s := got.Sum("a", "b", "none"); !reflect.DeepEqual(s, map[string]int64{"H100": 3, "A100-1g": 3, "L4": 1, "T4": 6}) {
		t.Errorf("Sum = %v", s)
	}
}
