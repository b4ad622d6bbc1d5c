variable "name_prefix" {
  type        = string
  default     = ""
  description = "Prefix of every tenant name, and so of every namespace (e.g. \"stg-\"): one cluster per environment, one naming convention."
  nullable    = false
  validation {
    condition     = can(regex("^([a-z0-9][-a-z0-9]*)?$", var.name_prefix))
    error_message = "name_prefix must be empty or start a DNS-1123 label: lower-case letters, digits and '-', starting with a letter or digit (e.g. \"stg-\")."
  }
}

variable "dataplane" {
  type = object({
    name          = optional(string, "main")
    quota_backend = optional(string, "resource-quota")
    # GPU families by name: an extended resource (resource_name) or a DRA
    # device class (device_class), and the labels of their nodes.
    gpu_families = map(object({
      resource_name = optional(string)
      device_class  = optional(string)
      node_selector = optional(map(string), {})
    }))
  })
  description = "The cluster's dataplane and its catalog of GPU families."
  nullable    = false
  validation {
    condition     = alltrue([for f in values(var.dataplane.gpu_families) : (f.resource_name == null) != (f.device_class == null)])
    error_message = "Each GPU family sets exactly one of resource_name and device_class."
  }
}

variable "computes" {
  type = map(object({
    node_selector = map(string)
    gpu_family    = optional(string)
    display_name  = optional(string)
  }))
  default     = {}
  description = "Node pools by name (the compute's name), picked by node labels."
  nullable    = false
}

variable "tenants" {
  type = map(object({
    display_name    = optional(string)
    admin_groups    = optional(list(string), [])
    computes        = optional(list(string), [])
    labels          = optional(map(string), {})
    overcommit      = optional(bool, false)
    deletion_policy = optional(string, "restrict")
    gpu_quota = optional(object({
      limits   = optional(map(number), {})
      requests = optional(map(number), {})
    }), {})
    projects = optional(map(object({
      compute = optional(string)
      labels  = optional(map(string), {})
      role_mapping = optional(object({
        viewer = optional(list(string), [])
        editor = optional(list(string), [])
        admin  = optional(list(string), [])
      }), {})
      gpu_quota = optional(object({
        limits   = optional(map(number), {})
        requests = optional(map(number), {})
      }), {})
    })), {})
    # People by a name of your choice: a user, group or service account
    # with a role in the tenant and in the listed projects (none: all).
    members = optional(map(object({
      kind      = string
      name      = string
      namespace = optional(string)
      role      = string
      projects  = optional(list(string), [])
    })), {})
  }))
  default     = {}
  description = "Tenants by short name (the tenant is name_prefix + key), with their projects, members and GPU quotas. Every field but a member's kind, name and role may be left out."
  nullable    = false
  validation {
    condition     = alltrue([for t in values(var.tenants) : alltrue([for p in values(t.projects) : p.compute == null ? true : contains(t.computes, p.compute)])])
    error_message = "A project's compute must be one of its tenant's computes."
  }
  validation {
    condition = alltrue(flatten([for t in values(var.tenants) : [
      for m in values(t.members) : [for p in m.projects : contains(keys(t.projects), p)]
    ]]))
    error_message = "A member's projects must be projects of the same tenant (keys of its projects)."
  }
  validation {
    condition     = alltrue(flatten([for t in values(var.tenants) : [for m in values(t.members) : contains(["User", "Group", "ServiceAccount"], m.kind)]]))
    error_message = "A member's kind is User, Group or ServiceAccount."
  }
}
