package incluster_test

import (
	"path/filepath"
	"slices"
	"testing"
)

// minimalNoCluster is minimal.yaml as a render without a cluster sees it
// (helm template, Argo CD): nothing can be read, so the API server's
// addresses come from the values or not at all.
func renderNetpol(t *testing.T, extra string) []object {
	t.Helper()
	return render(t, "tenancy", "tempo", filepath.Join(valuesDir, "minimal.yaml"), setFile(t, extra))
}

// Cilium matches the API server by its identity, not its addresses: an
// ipBlock rule never lets the runner reach it. networkPolicy.kubernetesApi.
// cilium adds a CiliumNetworkPolicy allowing egress to the kube-apiserver
// entity, and then needs no addresses.
func TestChartNetworkPolicyCilium(t *testing.T) {
	objs := renderNetpol(t, "networkPolicy:\n  kubernetesApi:\n    cidrs: []\n    cilium: true\n")
	cnps := byKind(objs, "CiliumNetworkPolicy")
	if len(cnps) != 1 {
		t.Fatalf("want one CiliumNetworkPolicy, got %d", len(cnps))
	}
	cnp := cnps[0]
	if get(cnp, "apiVersion") != "cilium.io/v2" {
		t.Errorf("apiVersion %v", get(cnp, "apiVersion"))
	}
	if got := strs(get(cnp, "spec", "egress", 0, "toEntities")); !slices.Equal(got, []string{"kube-apiserver"}) {
		t.Errorf("toEntities = %v", got)
	}
	np := byKind(objs, "NetworkPolicy")[0]
	sel := get(np, "spec", "podSelector", "matchLabels").(map[string]any)
	csel := get(cnp, "spec", "endpointSelector", "matchLabels").(map[string]any)
	if mustJSON(sel) != mustJSON(csel) {
		t.Errorf("the CiliumNetworkPolicy selects %v, the NetworkPolicy %v", csel, sel)
	}
	if len(get(cnp, "spec", "egress", 0, "toPorts", 0, "ports").([]any)) != 2 {
		t.Errorf("ports: %v", get(cnp, "spec", "egress", 0, "toPorts"))
	}
	for _, rule := range get(np, "spec", "egress").([]any) {
		for _, to := range get(rule, "to").([]any) {
			if get(to, "ipBlock") != nil {
				t.Errorf("an ipBlock rule without addresses given: %v", to)
			}
		}
	}
	// Without Cilium, the addresses are required where the cluster cannot
	// be read.
	out, err := helm(t, "template", "tenancy", chartDir, "--namespace", "tempo", "-f", filepath.Join(valuesDir, "minimal.yaml"),
		"-f", setFile(t, "networkPolicy:\n  kubernetesApi:\n    cidrs: []\n"))
	if err == nil {
		t.Errorf("a render without the API server's addresses passed:\n%.300s", out)
	}
}

// NodeLocal DNSCache answers on a link-local address and the kube-dns
// ClusterIP from the node itself, which no podSelector matches.
func TestChartNetworkPolicyNodeLocalDNS(t *testing.T) {
	np := byKind(renderNetpol(t, "networkPolicy:\n  dns:\n    cidrs: [169.254.20.10/32, 10.96.0.10/32]\n"), "NetworkPolicy")[0]
	egress := get(np, "spec", "egress").([]any)
	dns := egress[len(egress)-1]
	var cidrs []string
	for _, to := range get(dns, "to").([]any) {
		if c := get(to, "ipBlock", "cidr"); c != nil {
			cidrs = append(cidrs, c.(string))
		}
	}
	if !slices.Equal(cidrs, []string{"169.254.20.10/32", "10.96.0.10/32"}) {
		t.Errorf("DNS rule addresses = %v", cidrs)
	}
	if get(dns, "ports", 0, "port") != float64(53) {
		t.Errorf("the addresses are not in the DNS rule: %v", dns)
	}
	if _, err := helm(t, "template", "tenancy", chartDir, "--namespace", "tempo", "-f", filepath.Join(valuesDir, "minimal.yaml"),
		"-f", setFile(t, "networkPolicy:\n  dns:\n    cidrs: [\"0.0.0.0/0\\n- evil\"]\n")); err == nil {
		t.Error("a DNS address that is not a CIDR was accepted")
	}
}
