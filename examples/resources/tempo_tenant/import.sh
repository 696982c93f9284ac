# A tenant is imported by its name.
terraform import tempo_tenant.payments payments
