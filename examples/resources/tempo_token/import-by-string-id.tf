import {
  to = tempo_token.payments_collector
  id = "payments-collector-2f6tq8x1zk3m"
}
