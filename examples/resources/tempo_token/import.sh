# A token is imported by its name. Its secret cannot be recovered: the
# admin API shows it only once, when the token is created.
terraform import tempo_token.payments_collector payments-collector-2f6tq8x1zk3m
