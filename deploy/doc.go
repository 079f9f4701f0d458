// Package deploy holds soebot's deployment files, not code: compose.yaml
// (PostgreSQL and two replicas behind Caddy), kubernetes/ (plain manifests:
// Secret, ConfigMap, Deployment, Service, PodDisruptionBudget) and README.md.
// Its tests parse every YAML file here and check the keys operators rely on,
// that every environment variable they set is one soebot reads, and that no
// real-looking secret is committed.
package deploy
