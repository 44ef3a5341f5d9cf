/*
 * The workload simulator: a background thread standing in for a cluster's
 * controllers, kubelet and cloud provider, so workloads applied to kubesim
 * become ready the way they do on a cluster, a little later and through
 * the same objects:
 *
 *   Deployment -> ReplicaSet (name-<pod-template-hash>) -> Pods
 *   StatefulSet -> Pods name-0..n-1 (and PVCs from volumeClaimTemplates)
 *   DaemonSet -> one Pod (kubesim simulates a single node)
 *   Job -> Pods until enough succeed, or too many fail
 *   PersistentVolumeClaim -> a PersistentVolume, Bound
 *   Service type LoadBalancer -> an ingress IP from 172.18.255.0/24
 *
 * Pods turn Running and ready a delay after they appear (--ready-delay-ms,
 * or the annotation kubesim.edgecd.io/ready-delay-ms on the pod or on the
 * workload that makes it). Image tags steer failures: a tag "crashloop"
 * makes a container crash forever (CrashLoopBackOff, rising restartCount),
 * and a tag "fail" makes a Job's pods fail (and a long-running pod crash).
 * Owned objects whose owner is gone are deleted, as the garbage collector
 * would.
 *
 * Every write goes through the object store with a new resourceVersion
 * and never moves metadata.generation; writes that change nothing are
 * skipped so an idle cluster stays still.
 */
#ifndef KUBESIM_WORKLOAD_H
#define KUBESIM_WORKLOAD_H

#define WORKLOAD_ANNOTATION_DELAY "kubesim.edgecd.io/ready-delay-ms"
#define WORKLOAD_NODE "kubesim-node"

struct workload_options {
    long ready_delay_ms; /* from a pod's appearance to Running and ready */
    long tick_ms;        /* how often the controllers look */
};
#define WORKLOAD_OPTIONS_INIT                                                                      \
    {                                                                                              \
        300, 100                                                                                   \
    }

/* Create the simulated node and start the thread; the API lock must not be
 * held. 0 or ERR_GENERIC. Main thread, once. */
int workload_start(const struct workload_options *opts);

/* Stop and join the thread (no-op if not started). Main thread. */
void workload_stop(void);

#endif
