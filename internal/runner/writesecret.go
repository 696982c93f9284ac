package runner

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// WriteSecret is the write-secret mode, run by the module's local-exec when
// the CLI creates a token. The token's secret comes in the environment of
// the provisioner (TENANCY_TOKEN_SECRET), never on a command line; tokenName
// is the provisioner's command, for the progress line. When the new secret
// replaced another in its Secret, the mode waits the rotation overlap before
// it returns, and only then does the CLI revoke the old token: consumers
// never hold a revoked one.
func (r *Runner) WriteSecret(ctx context.Context, getenv func(string) string, tokenName string) error {
	t := Target{Namespace: getenv("TENANCY_TOKEN_NAMESPACE"), Name: getenv("TENANCY_TOKEN_SECRET_NAME")}
	key := getenv("TENANCY_TOKEN_KEY")
	if t.Namespace == "" || t.Name == "" || key == "" {
		return errors.New("write-secret: TENANCY_TOKEN_NAMESPACE, TENANCY_TOKEN_SECRET_NAME and TENANCY_TOKEN_KEY must name the token's Secret")
	}
	secret := getenv("TENANCY_TOKEN_SECRET")
	if secret == "" {
		return errors.New("write-secret: no token secret in the environment")
	}
	phase := secretsPhase{cfg: r.Cfg, kube: r.Kube, say: r.say}
	wrote, err := phase.writeRotated(ctx, t, key, secret)
	if err != nil || !wrote {
		return err
	}
	r.say("secret %s: rotated token %s written; the token it replaces is revoked in %s", t.id(), tokenName, r.Cfg.RotationOverlap)
	select {
	case <-time.After(r.Cfg.RotationOverlap):
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w during the rotation overlap of secret %s", context.Cause(ctx), t.id())
	}
}
