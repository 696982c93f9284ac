package adminapi_test

import (
	"strings"
	"testing"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/adminapi"
)

// A URL that New refuses is shown in the error with its credentials and
// query removed, even when it does not parse (url.Parse's own error text
// repeats the raw URL, so it must not be passed on as it is).
func TestRefusedURLIsShownRedacted(t *testing.T) {
	for _, raw := range []string{
		"http://user:s3cret@x.svc",
		"ftp://user:s3cret@x.svc",
		"ftp://x.svc?token=s3cret",
		"http://x.svc?token=s3cret",
		"http://x.svc/#s3cret",
		"http://#token=s3cret",
		"http://us er:s3cret@x.svc",
		"http://user:s3cret@x.svc:port",
		"http://user:s3/cret@x.svc",
		"http://user:s3cret@[::1",
		"http://user:%zzs3cret@x.svc",
		"http://user:s3cret@x.svc/\n",
		"http://x.svc/%zz?token=s3cret",
		"user:s3cret@x.svc:3100",
		"http:user:s3cret@x.svc",
	} {
		_, err := adminapi.New(adminapi.Config{URL: raw, Token: adminToken})
		if err == nil {
			t.Errorf("%q: accepted", raw)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "s3/cret") {
			t.Errorf("%q: the error repeats the secret: %v", raw, err)
		}
		if !strings.HasPrefix(err.Error(), "url: ") {
			t.Errorf("%q: the error does not name the url setting: %v", raw, err)
		}
	}
}

func TestRedactURL(t *testing.T) {
	for raw, want := range map[string]string{
		"http://x.svc:3100":                      "http://x.svc:3100",
		"https://x.svc/admin/api/v3":             "https://x.svc/admin/api/v3",
		"http://user:s3cret@x.svc:3100/a":        "http://xxxxx@x.svc:3100/a",
		"http://x.svc?token=s3cret":              "http://x.svc?xxxxx",
		"http://x.svc/p#frag":                    "http://x.svc/p#xxxxx",
		"http://us er:s3cret@x.svc/p?token=abc":  "http://xxxxx@x.svc/p?xxxxx",
		"http://user:s3/cret@x.svc/p":            "http://xxxxx@x.svc/p",
		"user:s3cret@x.svc:3100":                 "xxxxx@x.svc:3100",
		"":                                       "",
		"http://x.svc/%zz#s3cret":                "http://x.svc/%zz#xxxxx",
		"  http://user:s3cret@x.svc  ":           "http://xxxxx@x.svc",
		"http://user:s3cret@x.svc/a@b?token=abc": "http://xxxxx@x.svc/a@b?xxxxx",
	} {
		if got := adminapi.RedactURL(raw); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", raw, got, want)
		}
	}
}
