package kube

import "strings"

// namespacedCollection splits a namespaced list path
// (<prefix>/namespaces/<ns>/<resource>) into the all-namespaces collection
// (<prefix>/<resource>) and the namespace.
func namespacedCollection(path string) (coll, namespace string, ok bool) {
	s := strings.Split(strings.Trim(path, "/"), "/")
	for i := range s {
		if s[i] == "namespaces" && len(s) == i+3 {
			return "/" + strings.Join(append(s[:i:i], s[i+2]), "/"), s[i+1], true
		}
	}
	return "", "", false
}
