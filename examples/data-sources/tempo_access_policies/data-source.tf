# Every active access policy on the server, however it was made.
data "tempo_access_policies" "all" {}

# Who may write traces where: each policy granting traces:write, with the
# cluster/tenant pairs it grants it on.
output "trace_writers" {
  value = {
    for p in data.tempo_access_policies.all.access_policies :
    p.name => sort([for r in p.realms : "${r.cluster}/${r.tenant}"])
    if contains(p.scopes, "traces:write")
  }
}

# Policies whose tokens may use the admin API itself.
output "admin_policies" {
  value = [
    for p in data.tempo_access_policies.all.access_policies : p.name
    if length(setintersection(p.scopes, ["admin:read", "admin:write"])) > 0
  ]
}
