output "tenant_namespaces" {
  description = "Namespace of each tenant, by the tenants' keys."
  value       = { for t, r in gpuplane_tenant.this : t => r.namespace }
}

output "project_namespaces" {
  description = "Namespace of each project, by \"<tenant key>/<project>\"."
  value       = { for p, r in gpuplane_project.this : p => r.namespace }
}

output "effective_gpu_quota" {
  description = "What each tenant and project really gets, per GPU family: limit, request and where each comes from."
  value = {
    tenants  = { for t, r in gpuplane_tenant.this : t => r.effective_gpu_quota }
    projects = { for p, r in gpuplane_project.this : p => r.effective_gpu_quota }
  }
}

output "dataplane" {
  description = "Name of the dataplane, for configurations that build on this platform (data.gpuplane_dataplane)."
  value       = gpuplane_dataplane.this.name
}
