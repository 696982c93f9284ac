package provider

import (
	"os"
	"strings"
)

// The provider's loggers, as terraform-plugin-go and the framework name
// their levels: the provider's own (TF_LOG_PROVIDER_<type>), the SDK's and
// its protocol and framework subsystems.
const envProviderLog = "TF_LOG_PROVIDER_TEMPO"

var quietLoggers = []string{envProviderLog, "TF_LOG_SDK", "TF_LOG_SDK_PROTO", "TF_LOG_SDK_FRAMEWORK"}

// QuietLogsUnlessRead turns the provider process's logging off when the CLI
// that started it reads no provider log, and reports whether it did.
//
// A provider served by terraform-plugin-go writes every record, down to
// TRACE (several per request, and one per admin API request from the
// client), as a JSON line on stderr, whatever the CLI wants; Terraform and
// OpenTofu parse each line and drop it unless TF_LOG_PROVIDER or, failing
// it, TF_LOG names a level. On an apply of thousands of objects encoding
// those lines, and parsing them again in the CLI, cost more CPU than the
// requests themselves. With no level named, nothing reads them, so the
// loggers are set to OFF unless a variable of their own already says
// otherwise. A provider run with -debug logs to a terminal: the caller
// does not call this then.
func QuietLogsUnlessRead() bool {
	level := os.Getenv("TF_LOG_PROVIDER")
	if level == "" {
		level = os.Getenv("TF_LOG")
	}
	if level != "" && !strings.EqualFold(strings.TrimSpace(level), "off") {
		return false
	}
	for _, name := range quietLoggers {
		if _, set := os.LookupEnv(name); !set {
			_ = os.Setenv(name, "OFF")
		}
	}
	return true
}

// debugLogged reports whether the provider logger keeps debug records: its
// level comes from TF_LOG_PROVIDER_TEMPO, and unset it is TRACE.
func debugLogged() bool {
	switch strings.ToLower(strings.TrimSpace(os.Getenv(envProviderLog))) {
	case "info", "warn", "error", "off":
		return false
	}
	return true
}
