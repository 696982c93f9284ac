# An access policy is imported by its name.
terraform import tempo_access_policy.payments_write payments-write
