resource "tempo_tenant" "payments" {
  name         = "payments"
  display_name = "Payments team"
}
