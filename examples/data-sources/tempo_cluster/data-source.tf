# The cluster this configuration targets: the provider's `cluster`, or the
# admin API's only cluster when the provider does not name one.
data "tempo_cluster" "current" {}

output "cluster" {
  value = "${data.tempo_cluster.current.name} (${data.tempo_cluster.current.kind}, since ${data.tempo_cluster.current.created_at})"
}

# A cluster by name; reading one that does not exist is an error.
data "tempo_cluster" "eu" {
  name = "tempo-eu"
}
