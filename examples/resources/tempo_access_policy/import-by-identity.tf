# Terraform 1.12 and later, OpenTofu 1.12 and later: import by identity.
import {
  to = tempo_access_policy.payments_write
  identity = {
    name = "payments-write"
  }
}
