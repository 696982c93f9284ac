//go:build tools

// Package kube pins kube-apiserver, which internal/kubetest starts (with etcd)
// for tests that need a real Kubernetes API. k8s.io/kubernetes replaces its
// staging modules with local directories, so `go install` refuses it; this
// module maps them to their published releases (see go.mod). Build with:
//
//	cd internal/tools/kube && go build -o ../../../bin/kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
//
// (`make kube-tools` does this).
package kube

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
