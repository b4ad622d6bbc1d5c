package platform

import "strings"

// CEL building blocks shared by gpuplane's admission policies.

// podGPUsAtMost is the CEL condition that the pod spec at specExpr asks
// for at most maxExpr of the resource named by resourceExpr, computed as
// Kubernetes computes a pod's requests (see perPodPolicy).
func podGPUsAtMost(specExpr, resourceExpr, maxExpr string) string {
	return strings.NewReplacer("SPEC", specExpr, "RES", resourceExpr, "MAX", maxExpr).Replace(`
  SPEC.containers.map(c, quantity(c.?resources.?limits[?RES].orValue('0')).asInteger()).sum() +
    SPEC.?initContainers.orValue([]).map(c, c.?restartPolicy.orValue('') == 'Always',
      quantity(c.?resources.?limits[?RES].orValue('0')).asInteger()).sum() <= MAX &&
  SPEC.?initContainers.orValue([]).all(i, c, c.?restartPolicy.orValue('') == 'Always' ||
    quantity(c.?resources.?limits[?RES].orValue('0')).asInteger() +
      SPEC.initContainers.slice(0, i).map(s, s.?restartPolicy.orValue('') == 'Always',
        quantity(s.?resources.?limits[?RES].orValue('0')).asInteger()).sum() <= MAX)`)
}

// usesQueuedGPU is true when the pod spec at spec asks for a resource Kueue counts.
func usesQueuedGPU(spec string) string {
	return `params.spec.queue.resources.exists(r, (` + spec + `.containers + ` + spec + `.?initContainers.orValue([])).exists(c,
  r in c.?resources.?limits.orValue({}) || r in c.?resources.?requests.orValue({})))`
}

const gateRemoved = `oldObject.spec.?schedulingGates.orValue([]).exists(g, g.name == '` + KueueAdmissionGate + `') &&
  !object.spec.?schedulingGates.orValue([]).exists(g, g.name == '` + KueueAdmissionGate + `')`

const projectName = `params.spec.tenant + '/' + params.spec.project`
