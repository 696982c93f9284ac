# Terraform 1.12 and later, OpenTofu 1.12 and later: import by identity.
import {
  to = tempo_tenant.payments
  identity = {
    name = "payments"
  }
}
