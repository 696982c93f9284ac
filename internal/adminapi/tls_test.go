package adminapi_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tempo-tenancy/terraform-provider-tempo/internal/adminapi"
)

// testPKI is a throw-away CA with a server and a client certificate.
type testPKI struct {
	caPEM      []byte
	caPool     *x509.CertPool
	server     tls.Certificate
	clientCert string // file paths
	clientKey  string
}

func newPKI(t *testing.T) *testPKI {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	issue := func(serial int64, usage x509.ExtKeyUsage) ([]byte, []byte) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "leaf"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			ExtKeyUsage: []x509.ExtKeyUsage{usage}, KeyUsage: x509.KeyUsageDigitalSignature,
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kb, _ := x509.MarshalECPrivateKey(key)
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
			pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
	}
	p := &testPKI{caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), caPool: x509.NewCertPool()}
	p.caPool.AddCert(ca)
	sc, sk := issue(2, x509.ExtKeyUsageServerAuth)
	if p.server, err = tls.X509KeyPair(sc, sk); err != nil {
		t.Fatal(err)
	}
	cc, ck := issue(3, x509.ExtKeyUsageClientAuth)
	dir := t.TempDir()
	p.clientCert, p.clientKey = filepath.Join(dir, "client.crt"), filepath.Join(dir, "client.key")
	if err := os.WriteFile(p.clientCert, cc, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p.clientKey, ck, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func startTLSEmulator(t *testing.T, p *testPKI, requireClientCert bool) *httptest.Server {
	t.Helper()
	emu, _ := startEmulator(t)
	srv := httptest.NewUnstartedServer(emu)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{p.server}, MinVersion: tls.VersionTLS12}
	if requireClientCert {
		srv.TLS.ClientAuth = tls.RequireAndVerifyClientCert
		srv.TLS.ClientCAs = p.caPool
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func TestTLSWithPrivateCA(t *testing.T) {
	p := newPKI(t)
	srv := startTLSEmulator(t, p, false)

	c := newClient(t, srv.URL, func(c *adminapi.Config) { c.CACertPEM = string(p.caPEM) })
	if _, err := c.ListClusters(ctx); err != nil {
		t.Fatalf("with the CA as PEM: %v", err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(caFile, p.caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	c = newClient(t, srv.URL, func(c *adminapi.Config) { c.CACertFile = caFile })
	if _, err := c.ListClusters(ctx); err != nil {
		t.Fatalf("with the CA as a file: %v", err)
	}

	c = newClient(t, srv.URL)
	_, err := c.ListClusters(ctx)
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("without the CA: err = %v, want a certificate error", err)
	}
	c = newClient(t, srv.URL, func(c *adminapi.Config) { c.InsecureSkipVerify = true })
	if _, err := c.ListClusters(ctx); err != nil {
		t.Fatalf("insecure_skip_verify: %v", err)
	}
}

func TestMutualTLS(t *testing.T) {
	p := newPKI(t)
	srv := startTLSEmulator(t, p, true)

	c := newClient(t, srv.URL, func(c *adminapi.Config) {
		c.CACertPEM = string(p.caPEM)
		c.ClientCertFile, c.ClientKeyFile = p.clientCert, p.clientKey
	})
	if _, err := c.ListClusters(ctx); err != nil {
		t.Fatalf("with a client certificate: %v", err)
	}

	c = newClient(t, srv.URL, func(c *adminapi.Config) { c.CACertPEM = string(p.caPEM) })
	_, err := c.ListClusters(ctx)
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("without a client certificate: err = %v, want the server's refusal", err)
	}
	// A handshake refusal is configuration, not bad luck: no retries.
	if strings.Contains(err.Error(), "attempts") || !strings.Contains(err.Error(), "client_cert_file") {
		t.Fatalf("a TLS refusal was retried: %v", err)
	}
}

func TestTLSConfigErrors(t *testing.T) {
	p := newPKI(t)
	for _, tc := range []struct {
		name string
		cfg  adminapi.Config
		want string
	}{
		{"CA not PEM", adminapi.Config{CACertPEM: "nope"}, "PEM"},
		{"CA file missing", adminapi.Config{CACertFile: "/nonexistent/ca.crt"}, "ca_cert_file"},
		{"both CA forms", adminapi.Config{CACertFile: "x", CACertPEM: string(p.caPEM)}, "only one"},
		{"CA and no verification", adminapi.Config{CACertPEM: string(p.caPEM), InsecureSkipVerify: true}, "CA would be ignored"},
		{"CA file and no verification", adminapi.Config{CACertFile: "/nonexistent/ca.crt", InsecureSkipVerify: true}, "CA would be ignored"},
		{"cert without key", adminapi.Config{ClientCertFile: p.clientCert}, "together"},
		{"key is not a key", adminapi.Config{ClientCertFile: p.clientCert, ClientKeyFile: p.clientCert}, "client_cert_file"},
	} {
		tc.cfg.URL, tc.cfg.Token = "https://127.0.0.1:1", adminToken
		_, err := adminapi.New(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
		if err != nil && errors.Is(err, adminapi.ErrEndpointRefused) {
			t.Errorf("%s: unexpected refusal", tc.name)
		}
	}
}
