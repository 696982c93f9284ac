# Inside the cluster, next to GET: the admin API is a Service, the admin
# token a mounted Secret, and the token never leaves the cluster network.
provider "tempo" {
  url        = "http://tempo-admin-api.tempo.svc:3100"
  token_file = "/var/run/secrets/tempo/admin-token"
  cluster    = "tempo"

  # The network boundary: the admin token is only ever sent to these.
  allowed_endpoints = [".svc", ".cluster.local"]
}

# With TLS to the gateway and a private CA, and settings from the
# environment (TEMPO_ADMIN_URL, TEMPO_ADMIN_TOKEN or TEMPO_ADMIN_TOKEN_FILE,
# TEMPO_CLUSTER) for anything left out:
#
# provider "tempo" {
#   url          = "https://tempo-gateway.tempo.svc:8080"
#   ca_cert_file = "/var/run/secrets/tempo/ca.crt"
#   timeout      = "20s"
#   max_retries  = 6
# }
