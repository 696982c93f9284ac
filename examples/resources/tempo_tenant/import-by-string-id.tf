import {
  to = tempo_tenant.payments
  id = "payments"
}
