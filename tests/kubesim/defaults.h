/*
 * The defaults the real API server fills into objects of the common kinds
 * when it decodes a write (SetDefaults_* of k8s.io/kubernetes/pkg/apis),
 * and which kinds carry metadata.generation and when it moves. Defaults
 * are applied to the result of every write, so they are never owned by an
 * applier: dropping a field from an applied config lets the default come
 * back instead of fighting it.
 *
 * Not thread-safe (Service IPs and node ports come from counters): callers
 * hold the API lock.
 */
#ifndef KUBESIM_DEFAULTS_H
#define KUBESIM_DEFAULTS_H

#include <jansson.h>

#include "resources.h"

/* Fill the defaults of r's kind into obj (a whole object), as decoding
 * a request does: a creating writer owns what these add. Idempotent. */
void defaults_apply(const struct resource *r, json_t *obj);

/* What the registry fills in after the field managers are worked out,
 * so nobody owns it: Service cluster IPs, IP families and node ports
 * (kept from old, the previous object or NULL, when a write omits them;
 * dropped with other type-specific fields when the type no longer needs
 * them, and so is the load balancer status of a non-LoadBalancer),
 * Namespace spec.finalizers, a Job's generated selector and pod labels
 * (from metadata.uid and name). Idempotent. */
void defaults_allocate(const struct resource *r, const json_t *old, json_t *obj);

/* The imagePullPolicy the server picks for image: "Always" for a :latest
 * or untagged image, else "IfNotPresent". Static string. */
const char *defaults_pull_policy(const char *image);

/* 1 if objects of r carry metadata.generation (workloads, Ingress, PDB,
 * Pod, CRDs and custom resources; not ConfigMap, Secret, Service, ...). */
int defaults_has_generation(const struct resource *r);

/* 1 if a write from old to now moves the generation: spec changed (for
 * Deployments also annotations; for custom resources anything outside
 * metadata and status). */
int defaults_generation_changed(const struct resource *r, const json_t *old, const json_t *now);

#endif
