package platform

import (
	admv1 "k8s.io/api/admissionregistration/v1"
	admv1ac "k8s.io/client-go/applyconfigurations/admissionregistration/v1"
)

// The Kueue policies hold in project namespaces whose Project has
// spec.queue (the dataplane's quota backend is Kueue): a GPU workload
// runs only when Kueue admitted it, and a pod stays within its family's
// per-pod cap (gpu_quota.requests), the family told apart by the node
// labels Kueue writes into the pods of a workload it admits.
//
// No bypass, for pods: a GPU pod is created by the Job controller (whose
// Jobs are held by the Job policy below) or is one of Kueue's pod
// integration (queue-name label and Kueue's scheduling gate, which only
// Kueue removes). For Jobs: a GPU Job is created queued (queue-name label,
// spec.suspend true; Kueue's own webhook sets both when installed) and
// only Kueue's controller un-suspends it.

var kueuePodPolicy = podPolicy{
	name:      "gpuplane-kueue-pods",
	paramKind: "Project",
	rule: admv1ac.NamedRuleWithOperations().WithOperations(admv1.Create, admv1.Update).
		WithAPIGroups("").WithAPIVersions("v1").WithResources("pods"),
	validations: []policyValidation{{
		expression: `!has(params.spec.queue) || request.operation != 'CREATE' || !(` + usesQueuedGPU("object.spec") + `) ||
  request.userInfo.username in params.spec.queue.podCreators ||
  (object.metadata.?labels[?'` + KueueQueueLabel + `'].orValue('') == params.spec.queue.localQueue &&
   object.spec.?schedulingGates.orValue([]).exists(g, g.name == '` + KueueAdmissionGate + `'))`,
		message: `'GPU workloads in gpuplane project ' + ` + projectName + ` + ' run through Kueue: submit a Job labelled ` +
			KueueQueueLabel + `=' + params.spec.queue.localQueue + ' (or a pod with that label, with Kueue\'s pod integration), not a bare pod'`,
	}, {
		expression: `!has(params.spec.queue) || request.operation != 'UPDATE' || !(` + gateRemoved + `) ||
  request.userInfo.username in params.spec.queue.admitters`,
		message: `'only Kueue removes the scheduling gate ` + KueueAdmissionGate + ` in gpuplane project ' + ` + projectName + ` +
  ', once the project\'s quota admits the pod'`,
	}, {
		expression: `!has(params.spec.queue) || request.operation != 'CREATE' ||
  params.spec.queue.?familyMaxPerPod.orValue([]).all(e,
    !e.?nodeLabels.orValue({}).all(k, object.spec.?nodeSelector.orValue({})[?k].orValue('') == e.nodeLabels[k]) ||` +
			podGPUsAtMost("object.spec", "e.resource", "e.max") + `)`,
		message: `'this pod asks for more GPUs of one family than the largest workload allowed in gpuplane project ' + ` + projectName + ` +
  ' (gpu_quota.requests): ' + params.spec.queue.familyMaxPerPod.map(e, e.family + ' at most ' + string(e.max)).join(', ')`,
	}},
}

var kueueJobPolicy = podPolicy{
	name:      "gpuplane-kueue-jobs",
	paramKind: "Project",
	rule: admv1ac.NamedRuleWithOperations().WithOperations(admv1.Create, admv1.Update).
		WithAPIGroups("batch").WithAPIVersions("v1").WithResources("jobs"),
	validations: []policyValidation{{
		expression: `!has(params.spec.queue) || request.operation != 'CREATE' || !(` + usesQueuedGPU("object.spec.template.spec") + `) ||
  (object.metadata.?labels[?'` + KueueQueueLabel + `'].orValue('') == params.spec.queue.localQueue && object.spec.?suspend.orValue(false))`,
		message: `'GPU Jobs in gpuplane project ' + ` + projectName + ` + ' run through Kueue: label the Job ` + KueueQueueLabel +
			`=' + params.spec.queue.localQueue + ' and create it with spec.suspend: true (Kueue\'s webhook does both when it is installed); ' +
  'Kueue starts it when the project\'s GPU quota allows'`,
	}, {
		expression: `!has(params.spec.queue) || request.operation != 'UPDATE' || !(` + usesQueuedGPU("object.spec.template.spec") + `) ||
  !(oldObject.spec.?suspend.orValue(false) && !object.spec.?suspend.orValue(false)) ||
  request.userInfo.username in params.spec.queue.admitters`,
		message: `'only Kueue starts a GPU Job in gpuplane project ' + ` + projectName + ` +
  ': leave spec.suspend to Kueue, which sets it to false once the project\'s GPU quota admits the Job'`,
	}, {
		// At submission the family is not known yet: the pods must fit the
		// cap of every family Kueue may assign (whose node labels the pod
		// template does not contradict), so no admitted Job has refused pods.
		expression: `!has(params.spec.queue) || request.operation != 'CREATE' ||
  params.spec.queue.?familyMaxPerPod.orValue([]).all(e,
    e.?nodeLabels.orValue({}).exists(k, object.spec.template.spec.?nodeSelector.orValue({})[?k].orValue(e.nodeLabels[k]) != e.nodeLabels[k]) ||` +
			podGPUsAtMost("object.spec.template.spec", "e.resource", "e.max") + `)`,
		message: `'this Job\'s pods ask for more GPUs than the largest workload allowed (gpu_quota.requests) on a GPU family Kueue may ' +
  'run them on in gpuplane project ' + ` + projectName + `+ ': ' +
  params.spec.queue.familyMaxPerPod.map(e, e.family + ' at most ' + string(e.max)).join(', ') +
  '; pin a family with spec.template.spec.nodeSelector to be held to its cap alone'`,
	}},
}
