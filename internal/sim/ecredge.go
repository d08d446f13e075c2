package sim

import (
	"net/http"
	"strings"

	"github.com/pier-deploy/pier/internal/sim/ecr"
)

// ecrStore adapts the ECR simulator to the ECS model's image pulls.
type ecrStore struct{ svc *ecr.Service }

func (e ecrStore) lookup(ref string) (string, bool, bool) {
	host, _, _ := strings.Cut(ref, "/")
	ours := strings.Contains(host, ".dkr.ecr.") || host == e.svc.RegistryHost()
	digest, ok := e.svc.HasImage(ref)
	return digest, ours, ok
}

func (e ecrStore) platforms(ref string) []string {
	p, _ := e.svc.ImagePlatforms(ref)
	return p
}

// ECR returns the world's ECR service, to seed images or read its counters.
func (w *World) ECR() *ecr.Service { return w.ecr }

func (w *World) attachRegistryHost(host string) {
	w.ecr.SetRegistryHost(host)
}

func (w *World) serveECR(rw http.ResponseWriter, r *http.Request) { w.ecr.ServeHTTP(rw, r) }

func (w *World) serveRegistry(rw http.ResponseWriter, r *http.Request) {
	if action := RegistryAction(r.Method, r.URL.Path); action != "" {
		w.mu.Lock()
		w.count("registry." + action)
		w.mu.Unlock()
	}
	w.ecr.Registry().ServeHTTP(rw, r)
}
