# Terraform 1.12 and later, OpenTofu 1.12 and later: import by identity.
import {
  to = tempo_token.payments_collector
  identity = {
    name = "payments-collector-2f6tq8x1zk3m"
  }
}
