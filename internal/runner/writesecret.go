package runner

import (
	"context"
	"errors"
)

// WriteSecret is the write-secret mode, run by the module's local-exec when
// the CLI creates a token. The token's secret comes in the environment of
// the provisioner (TENANCY_TOKEN_SECRET), never on a command line; tokenName
// is the provisioner's command, for the progress line. When the new secret
// replaces another in its Secret (a rotation), it is written at once, so
// that consumers start reading it as early as possible; the token it
// replaces was handed off before the apply, and the run revokes it after
// the overlap (see handoffsIn).
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
	r.say("secret %s: token %s written; the token it replaces is revoked once the run's overlap has passed", t.id(), tokenName)
	return nil
}
