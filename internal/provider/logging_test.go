package provider

import (
	"os"
	"testing"
)

// unsetEnv unsets name for the test, restoring its value afterwards.
func unsetEnv(t *testing.T, name string) {
	t.Helper()
	t.Setenv(name, "")
	_ = os.Unsetenv(name)
}

func TestQuietLogsUnlessRead(t *testing.T) {
	for _, tc := range []struct {
		name       string
		env        map[string]string
		wantQuiet  bool
		wantLevels map[string]string // "" means unset
	}{
		{name: "no level anywhere", wantQuiet: true,
			wantLevels: map[string]string{envProviderLog: "OFF", "TF_LOG_SDK": "OFF", "TF_LOG_SDK_PROTO": "OFF", "TF_LOG_SDK_FRAMEWORK": "OFF"}},
		{name: "TF_LOG=off", env: map[string]string{"TF_LOG": "off"}, wantQuiet: true,
			wantLevels: map[string]string{envProviderLog: "OFF"}},
		{name: "TF_LOG", env: map[string]string{"TF_LOG": "DEBUG"},
			wantLevels: map[string]string{envProviderLog: "", "TF_LOG_SDK": ""}},
		{name: "TF_LOG_PROVIDER", env: map[string]string{"TF_LOG_PROVIDER": "trace"},
			wantLevels: map[string]string{envProviderLog: "", "TF_LOG_SDK_FRAMEWORK": ""}},
		{name: "TF_LOG_PROVIDER wins over TF_LOG", env: map[string]string{"TF_LOG": "DEBUG", "TF_LOG_PROVIDER": "OFF"}, wantQuiet: true,
			wantLevels: map[string]string{envProviderLog: "OFF"}},
		{name: "a logger's own level is kept", env: map[string]string{"TF_LOG_SDK_FRAMEWORK": "TRACE"}, wantQuiet: true,
			wantLevels: map[string]string{"TF_LOG_SDK_FRAMEWORK": "TRACE", "TF_LOG_SDK": "OFF"}},
		{name: "the core's level alone", env: map[string]string{"TF_LOG_CORE": "TRACE"}, wantQuiet: true,
			wantLevels: map[string]string{envProviderLog: "OFF"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, name := range append([]string{"TF_LOG", "TF_LOG_PROVIDER", "TF_LOG_CORE"}, quietLoggers...) {
				unsetEnv(t, name)
			}
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			if got := QuietLogsUnlessRead(); got != tc.wantQuiet {
				t.Errorf("QuietLogsUnlessRead() = %v, want %v", got, tc.wantQuiet)
			}
			for name, want := range tc.wantLevels {
				if got := os.Getenv(name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
		})
	}
}

func TestDebugLogged(t *testing.T) {
	for level, want := range map[string]bool{"": true, "TRACE": true, "debug": true, "json": true, "INFO": false, "warn": false, "ERROR": false, "OFF": false, " off ": false} {
		t.Setenv(envProviderLog, level)
		if got := debugLogged(); got != want {
			t.Errorf("%s=%q: debugLogged() = %v, want %v", envProviderLog, level, got, want)
		}
	}
}
