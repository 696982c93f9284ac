//go:build tools

// Package etcd pins the etcd server that internal/kubetest starts for tests
// that need a real Kubernetes API. The etcd binary's main package is the root
// of the go.etcd.io/etcd/server/v3 module. Its go.mod carries replace
// directives, so `go install` refuses it; build it from this module instead:
//
//	cd internal/tools/etcd && go build -o ../../../bin/etcd go.etcd.io/etcd/server/v3
//
// (`make kube-tools` does this).
package etcd

import _ "go.etcd.io/etcd/server/v3"
