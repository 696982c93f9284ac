import {
  to = tempo_access_policy.payments_write
  id = "payments-write"
}
