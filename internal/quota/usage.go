package quota

import "strings"

// PodGPUs is what one non-terminal pod asks for.
type PodGPUs struct {
	Namespace string
	// Node is spec.nodeName ("" while pending); NodeSelector is the pod's own.
	Node         string
	NodeSelector map[string]string
	// Resources is the pod's effective request per resource name.
	Resources map[string]int64
}

// Usage is GPU use per namespace and family, and what could not be
// attributed to a family (per resource name), which is reported, not dropped.
type Usage struct {
	ByNamespace  map[string]map[string]int64
	Unattributed map[string]int64
}

// Sum adds up the usage of the given namespaces per family.
func (u Usage) Sum(namespaces ...string) map[string]int64 {
	out := map[string]int64{}
	for _, ns := range namespaces {
		for f, n := range u.ByNamespace[ns] {
			out[f] += n
		}
	}
	return out
}

// AttributeUsage attributes the pods' GPUs to families by resource name.
// Where several families share a resource name, the labels of the pod's
// node decide (or, while it is pending, its node selector); a pod that
// matches none or several of them is unattributed. Extended resources that
// no family names are unattributed too. DRA claims are not counted here.
func AttributeUsage(pods []PodGPUs, c Catalog, nodeLabels map[string]map[string]string) Usage {
	byResource := map[string][]string{}
	for _, name := range c.Names() {
		if r := c[name].ResourceName; r != "" {
			byResource[r] = append(byResource[r], name)
		}
	}
	u := Usage{ByNamespace: map[string]map[string]int64{}, Unattributed: map[string]int64{}}
	for _, p := range pods {
		for res, n := range p.Resources {
			if n <= 0 {
				continue
			}
			family := ""
			switch fams := byResource[res]; len(fams) {
			case 0:
				if isExtendedResource(res) {
					u.Unattributed[res] += n
				}
				continue
			case 1:
				family = fams[0]
			default:
				labels := p.NodeSelector
				if p.Node != "" {
					labels = nodeLabels[p.Node]
				}
				family = matchFamily(fams, c, labels)
			}
			if family == "" {
				u.Unattributed[res] += n
				continue
			}
			if u.ByNamespace[p.Namespace] == nil {
				u.ByNamespace[p.Namespace] = map[string]int64{}
			}
			u.ByNamespace[p.Namespace][family] += n
		}
	}
	return u
}

// matchFamily returns the one family whose node selector labels match, or "".
func matchFamily(fams []string, c Catalog, labels map[string]string) string {
	found := ""
	for _, f := range fams {
		sel := c[f].NodeSelector
		if len(sel) == 0 {
			continue
		}
		ok := true
		for k, v := range sel {
			if labels[k] != v {
				ok = false
				break
			}
		}
		if ok {
			if found != "" {
				return ""
			}
			found = f
		}
	}
	return found
}

// isExtendedResource: a domain-prefixed resource outside kubernetes.io
// (cpu, memory, hugepages and the like are not GPUs).
func isExtendedResource(name string) bool {
	return strings.Contains(name, "/") && !strings.Contains(name, "kubernetes.io/")
}
