/*
 * Health checks against Argo CD's expectations. Objects come from
 * gitops-engine's pkg/health/testdata where one exists (cut down to the
 * fields the check reads), and the messages are the ones its Go code
 * formats, character for character.
 */
#include "engine/health.h"

#include "doc/doc.h"
#include "test.h"

struct health_case {
    const char *name;
    const char *yaml;
    enum health_status status;
    const char *message;
};

#define DEPLOY "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, generation: 2}\n"
#define STS "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db, generation: 1}\n"
#define DS "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: fluentd, generation: 1}\n"
#define RS "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: web-1, generation: 1}\n"
#define POD "apiVersion: v1\nkind: Pod\nmetadata: {name: my-pod}\n"
#define JOB "apiVersion: batch/v1\nkind: Job\nmetadata: {name: fail}\n"
#define CRON "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: nightly}\n"
#define HPA2 "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: s}\n"
#define APISVC "apiVersion: apiregistration.k8s.io/v1\nkind: APIService\nmetadata: {name: v1.x}\n"

static const struct health_case cases[] = {
    /* Deployment */
    {"deployment healthy",
     DEPLOY "spec: {replicas: 3}\nstatus: {observedGeneration: 2, replicas: 3, updatedReplicas: 3, "
            "availableReplicas: 3}\n",
     HEALTH_HEALTHY, ""},
    {"deployment paused", DEPLOY "spec: {replicas: 3, paused: true}\n", HEALTH_SUSPENDED,
     "Deployment is paused"},
    {"deployment generation not observed", DEPLOY "status: {observedGeneration: 1}\n",
     HEALTH_PROGRESSING,
     "Waiting for rollout to finish: observed deployment generation less than desired "
     "generation"},
    {"deployment-degraded.yaml",
     "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: guestbook-ui, generation: 4}\n"
     "spec: {replicas: 1}\n"
     "status:\n  availableReplicas: 1\n  observedGeneration: 4\n  readyReplicas: 1\n"
     "  replicas: 2\n  unavailableReplicas: 1\n  updatedReplicas: 1\n  conditions:\n"
     "  - {type: Available, status: 'True', reason: MinimumReplicasAvailable}\n"
     "  - type: Progressing\n    status: 'False'\n    reason: ProgressDeadlineExceeded\n"
     "    message: ReplicaSet \"guestbook-ui-75dd4d49d5\" has timed out progressing.\n",
     HEALTH_DEGRADED, "Deployment \"guestbook-ui\" exceeded its progress deadline"},
    {"deployment updating",
     DEPLOY
     "spec: {replicas: 3}\nstatus: {observedGeneration: 2, replicas: 3, updatedReplicas: 1}\n",
     HEALTH_PROGRESSING,
     "Waiting for rollout to finish: 1 out of 3 new replicas have been updated..."},
    {"deployment old replicas",
     DEPLOY "spec: {replicas: 3}\nstatus: {observedGeneration: 2, replicas: 4, updatedReplicas: 3, "
            "availableReplicas: 3}\n",
     HEALTH_PROGRESSING,
     "Waiting for rollout to finish: 1 old replicas are pending termination..."},
    {"deployment not available",
     DEPLOY "spec: {replicas: 3}\nstatus: {observedGeneration: 2, replicas: 3, updatedReplicas: 3, "
            "availableReplicas: 1}\n",
     HEALTH_PROGRESSING, "Waiting for rollout to finish: 1 of 3 updated replicas are available..."},
    {"deployment old apiVersion",
     "apiVersion: apps/v1beta2\nkind: Deployment\nmetadata: {name: web}\n", HEALTH_UNKNOWN,
     "unsupported Deployment GVK: apps/v1beta2, Kind=Deployment"},
    {"deployment numbers written as reals",
     DEPLOY
     "spec: {replicas: 3.0}\nstatus: {observedGeneration: 2.0, replicas: 3, updatedReplicas: "
     "1e0}\n",
     HEALTH_PROGRESSING,
     "Waiting for rollout to finish: 1 out of 3 new replicas have been updated..."},
    {"deployment fraction", DEPLOY "spec: {replicas: 2.5}\n", HEALTH_UNKNOWN,
     "failed to convert unstructured Deployment to typed: spec.replicas: expected a whole "
     "number, got number"},
    {"deployment field of the wrong type", DEPLOY "spec: {replicas: '3'}\n", HEALTH_UNKNOWN,
     "failed to convert unstructured Deployment to typed: spec.replicas: expected a whole "
     "number, got string"},

    /* StatefulSet */
    {"statefulset.yaml (OnDelete)",
     "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: redis-master, generation: 1}\n"
     "spec: {replicas: 1, updateStrategy: {type: OnDelete}}\n"
     "status: {currentReplicas: 1, currentRevision: redis-master-7b8f75b98, observedGeneration: 1, "
     "readyReplicas: 1, replicas: 1, updateRevision: redis-master-7b8f75b98}\n",
     HEALTH_HEALTHY, "statefulset has 1 ready pods"},
    {"statefulset not observed", STS "spec: {replicas: 1}\n", HEALTH_PROGRESSING,
     "Waiting for statefulset spec update to be observed..."},
    {"statefulset pods not ready",
     STS "spec: {replicas: 3}\nstatus: {observedGeneration: 1, readyReplicas: 1}\n",
     HEALTH_PROGRESSING, "Waiting for 2 pods to be ready..."},
    {"statefulset partition rolling",
     STS "spec: {replicas: 3, updateStrategy: {type: RollingUpdate, rollingUpdate: {partition: "
         "2}}}\nstatus: {observedGeneration: 1, readyReplicas: 3, updatedReplicas: 0}\n",
     HEALTH_PROGRESSING,
     "Waiting for partitioned roll out to finish: 0 out of 1 new pods have been updated..."},
    {"statefulset partition done",
     STS "spec: {replicas: 3, updateStrategy: {type: RollingUpdate, rollingUpdate: {partition: "
         "2}}}\nstatus: {observedGeneration: 1, readyReplicas: 3, updatedReplicas: 1}\n",
     HEALTH_HEALTHY, "partitioned roll out complete: 1 new pods have been updated..."},
    {"statefulset rolling",
     STS "spec: {replicas: 3, updateStrategy: {type: RollingUpdate}}\n"
         "status: {observedGeneration: 1, readyReplicas: 3, updatedReplicas: 1, currentReplicas: "
         "2, currentRevision: db-1, updateRevision: db-2}\n",
     HEALTH_PROGRESSING,
     "waiting for statefulset rolling update to complete 1 pods at revision "
     "db-2..."},
    {"statefulset rolled",
     STS "spec: {replicas: 3, updateStrategy: {type: RollingUpdate}}\n"
         "status: {observedGeneration: 1, readyReplicas: 3, updatedReplicas: 3, currentReplicas: "
         "3, currentRevision: db-2, updateRevision: db-2}\n",
     HEALTH_HEALTHY, "statefulset rolling update complete 3 pods at revision db-2..."},

    /* DaemonSet */
    {"daemonset generation", DS "status: {observedGeneration: 0}\n", HEALTH_PROGRESSING,
     "Waiting for rollout to finish: observed daemon set generation less than desired "
     "generation"},
    {"daemonset-ondelete.yaml",
     DS "spec: {updateStrategy: {type: OnDelete}}\nstatus: {observedGeneration: 1, "
        "updatedNumberScheduled: 1, desiredNumberScheduled: 3}\n",
     HEALTH_HEALTHY, "daemon set 1 out of 3 new pods have been updated"},
    {"daemonset updating",
     DS "status: {observedGeneration: 1, updatedNumberScheduled: 1, desiredNumberScheduled: 3}\n",
     HEALTH_PROGRESSING,
     "Waiting for daemon set \"fluentd\" rollout to finish: 1 out of 3 new pods have been "
     "updated..."},
    {"daemonset unavailable",
     DS "status: {observedGeneration: 1, updatedNumberScheduled: 3, desiredNumberScheduled: 3, "
        "numberAvailable: 2}\n",
     HEALTH_PROGRESSING,
     "Waiting for daemon set \"fluentd\" rollout to finish: 2 of 3 updated pods are available..."},
    {"daemonset healthy",
     DS "status: {observedGeneration: 1, updatedNumberScheduled: 3, desiredNumberScheduled: 3, "
        "numberAvailable: 3}\n",
     HEALTH_HEALTHY, ""},

    /* ReplicaSet */
    {"replicaset failure",
     RS
     "spec: {replicas: 3}\nstatus:\n  observedGeneration: 1\n  conditions:\n"
     "  - {type: ReplicaFailure, status: 'True', reason: FailedCreate, message: 'pods \"web-1-x\" "
     "is forbidden: exceeded quota'}\n",
     HEALTH_DEGRADED, "pods \"web-1-x\" is forbidden: exceeded quota"},
    {"replicaset unavailable",
     RS "spec: {replicas: 3}\nstatus: {observedGeneration: 1, availableReplicas: 1}\n",
     HEALTH_PROGRESSING, "Waiting for rollout to finish: 1 out of 3 new replicas are available..."},
    {"replicaset generation", RS "status: {observedGeneration: 0}\n", HEALTH_PROGRESSING,
     "Waiting for rollout to finish: observed replica set generation less than desired "
     "generation"},
    {"replicaset healthy",
     RS "spec: {replicas: 3}\nstatus: {observedGeneration: 1, availableReplicas: 3}\n",
     HEALTH_HEALTHY, ""},

    /* Pod */
    {"pod-crashloop.yaml",
     POD "spec: {restartPolicy: Always}\n"
         "status:\n  phase: Running\n  conditions:\n  - {type: Ready, status: 'False'}\n"
         "  containerStatuses:\n  - name: main\n    ready: false\n    restartCount: 3\n"
         "    lastState: {terminated: {exitCode: 1, reason: Error}}\n"
         "    state:\n      waiting:\n        reason: CrashLoopBackOff\n        message: Back-off "
         "40s restarting failed container=main "
         "pod=my-pod_argocd(63674389-f613-11e8-a057-fe5f49266390)\n",
     HEALTH_DEGRADED,
     "Back-off 40s restarting failed container=main "
     "pod=my-pod_argocd(63674389-f613-11e8-a057-fe5f49266390)"},
    {"pod image pull errors joined",
     POD "spec: {restartPolicy: Always}\nstatus:\n  phase: Pending\n  containerStatuses:\n"
         "  - {name: a, state: {waiting: {reason: ImagePullBackOff, message: 'Back-off pulling "
         "image \"a\"'}}}\n"
         "  - {name: b, state: {waiting: {reason: ContainerCreating}}}\n"
         "  - {name: c, state: {waiting: {reason: ErrImagePull, message: 'rpc error'}}}\n"
         "  - {name: d, state: {waiting: {reason: CreateContainerConfigError, message: 'secret "
         "\"s\" not found'}}}\n",
     HEALTH_DEGRADED, "Back-off pulling image \"a\", rpc error, secret \"s\" not found"},
    {"hook pod image pull is not degraded",
     POD "spec: {restartPolicy: Never}\nstatus:\n  phase: Pending\n  containerStatuses:\n"
         "  - {name: a, state: {waiting: {reason: ImagePullBackOff, message: 'Back-off'}}}\n",
     HEALTH_PROGRESSING, ""},
    {"pod pending", POD "spec: {restartPolicy: Always}\nstatus: {phase: Pending, message: 'x'}\n",
     HEALTH_PROGRESSING, "x"},
    {"pod running ready",
     POD "spec: {restartPolicy: Always}\nstatus:\n  phase: Running\n  conditions: [{type: Ready, "
         "status: 'True'}]\n",
     HEALTH_HEALTHY, ""},
    {"pod-running-not-ready.yaml",
     POD "spec: {restartPolicy: Always}\nstatus:\n  phase: Running\n  conditions: [{type: Ready, "
         "status: 'False'}]\n  containerStatuses: [{name: main, ready: false, state: {running: "
         "{}}}]\n",
     HEALTH_PROGRESSING, ""},
    {"pod running after a crash",
     POD "spec: {restartPolicy: Always}\nstatus:\n  phase: Running\n  message: restarted\n"
         "  containerStatuses: [{name: main, lastState: {terminated: {exitCode: 137}}}]\n",
     HEALTH_DEGRADED, "restarted"},
    {"pod-running-restart-never.yaml",
     POD "spec: {restartPolicy: Never}\nstatus: {phase: Running}\n", HEALTH_PROGRESSING, ""},
    {"pod running OnFailure", POD "spec: {restartPolicy: OnFailure}\nstatus: {phase: Running}\n",
     HEALTH_PROGRESSING, ""},
    {"pod running without restartPolicy", POD "status: {phase: Running, message: m}\n",
     HEALTH_UNKNOWN, "m"},
    {"pod succeeded", POD "spec: {restartPolicy: Never}\nstatus: {phase: Succeeded}\n",
     HEALTH_HEALTHY, ""},
    {"pod-failed.yaml with a message",
     POD "spec: {restartPolicy: Never}\nstatus: {phase: Failed, message: 'Pod was evicted'}\n",
     HEALTH_DEGRADED, "Pod was evicted"},
    {"pod failed init container",
     POD "spec: {restartPolicy: Never}\nstatus:\n  phase: Failed\n"
         "  initContainerStatuses: [{name: init, state: {terminated: {exitCode: 2}}}]\n"
         "  containerStatuses: [{name: main, state: {terminated: {exitCode: 1, message: "
         "late}}}]\n",
     HEALTH_DEGRADED, "container \"init\" failed with exit code 2"},
    {"pod failed OOMKilled",
     POD "spec: {restartPolicy: Never}\nstatus:\n  phase: Failed\n"
         "  containerStatuses: [{name: main, state: {terminated: {exitCode: 137, reason: "
         "OOMKilled}}}]\n",
     HEALTH_DEGRADED, "OOMKilled"},
    {"pod failed terminated message",
     POD "spec: {restartPolicy: Never}\nstatus:\n  phase: Failed\n"
         "  containerStatuses: [{name: main, state: {terminated: {exitCode: 1, message: 'disk "
         "full'}}}]\n",
     HEALTH_DEGRADED, "disk full"},
    {"pod failed with nothing said", POD "status: {phase: Failed}\n", HEALTH_DEGRADED, ""},
    {"pod unknown phase", POD "spec: {restartPolicy: Always}\nstatus: {phase: Unknown}\n",
     HEALTH_UNKNOWN, ""},
    {"pod-deletion.yaml",
     "apiVersion: v1\nkind: Pod\nmetadata: {name: p, deletionTimestamp: "
     "'2018-12-03T10:16:04Z'}\nstatus: {phase: Running}\n",
     HEALTH_PROGRESSING, "Pending deletion"},
    {"hook finalizer: deletion is the hook's business",
     "apiVersion: v1\nkind: Pod\nmetadata: {name: p, deletionTimestamp: '2018-12-03T10:16:04Z', "
     "finalizers: [argocd.argoproj.io/hook-finalizer]}\nspec: {restartPolicy: Never}\n"
     "status: {phase: Succeeded}\n",
     HEALTH_HEALTHY, ""},

    /* Service, Ingress */
    {"svc-clusterip.yaml",
     "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {type: "
     "ClusterIP}\n",
     HEALTH_HEALTHY, ""},
    {"svc-loadbalancer-unassigned.yaml",
     "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {type: LoadBalancer}\n"
     "status: {loadBalancer: {}}\n",
     HEALTH_PROGRESSING, ""},
    {"svc-loadbalancer.yaml",
     "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {type: LoadBalancer}\n"
     "status: {loadBalancer: {ingress: [{ip: 10.0.0.7}]}}\n",
     HEALTH_HEALTHY, ""},
    {"ingress.yaml",
     "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i}\n"
     "status: {loadBalancer: {ingress: [{hostname: lb.example.com}]}}\n",
     HEALTH_HEALTHY, ""},
    {"ingress-unassigned.yaml",
     "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i}\nstatus: "
     "{loadBalancer: {}}\n",
     HEALTH_PROGRESSING, ""},
    {"extensions ingress",
     "apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: {name: i}\n"
     "status: {loadBalancer: {ingress: [{ip: 1.2.3.4}]}}\n",
     HEALTH_HEALTHY, ""},

    /* PersistentVolumeClaim */
    {"pvc-bound.yaml",
     "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: c}\nstatus: {phase: Bound}\n",
     HEALTH_HEALTHY, ""},
    {"pvc-pending.yaml",
     "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: c}\nstatus: {phase: "
     "Pending}\n",
     HEALTH_PROGRESSING, ""},
    {"pvc lost",
     "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: c}\nstatus: {phase: Lost}\n",
     HEALTH_DEGRADED, ""},
    {"pvc without phase", "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: c}\n",
     HEALTH_UNKNOWN, ""},

    /* Job */
    {"job-running.yaml", JOB "status: {active: 1}\n", HEALTH_PROGRESSING, ""},
    {"job-failed.yaml",
     JOB "status:\n  failed: 1\n  conditions:\n  - type: Failed\n    status: 'True'\n"
         "    reason: BackoffLimitExceeded\n    message: Job has reached the specified backoff "
         "limit\n",
     HEALTH_DEGRADED, "Job has reached the specified backoff limit"},
    {"job-succeeded.yaml",
     JOB "status: {succeeded: 1, conditions: [{type: Complete, status: 'True', message: done}]}\n",
     HEALTH_HEALTHY, "done"},
    {"job-suspended.yaml",
     JOB "spec: {suspend: true}\nstatus: {conditions: [{type: Suspended, status: 'True', reason: "
         "JobSuspended, message: Job suspended}]}\n",
     HEALTH_SUSPENDED, ""},
    {"job old apiVersion", "apiVersion: batch/v2alpha1\nkind: Job\nmetadata: {name: j}\n",
     HEALTH_UNKNOWN, "unsupported Job GVK: batch/v2alpha1, Kind=Job"},

    /* CronJob (Argo CD's Lua check, in C) */
    {"cronjob suspended", CRON "spec: {suspend: true}\nstatus: {active: [{name: x}]}\n",
     HEALTH_SUSPENDED, "CronJob is Suspended"},
    {"activeJobs.yaml",
     CRON "status: {active: [{name: nightly-1}], lastScheduleTime: '2024-01-02T00:00:00Z', "
          "lastSuccessfulTime: '2024-01-01T00:05:00Z'}\n",
     HEALTH_PROGRESSING, "CronJob has active jobs"},
    {"notScheduled.yaml", CRON "status: {}\n", HEALTH_HEALTHY, "CronJob has never run"},
    {"cronjob without status", CRON, HEALTH_HEALTHY, "CronJob has never run"},
    {"successfullyRun.yaml",
     CRON "status: {lastScheduleTime: '2024-01-02T00:00:00Z', lastSuccessfulTime: "
          "'2024-01-02T00:01:10Z'}\n",
     HEALTH_HEALTHY, "CronJob has run successfully"},
    {"oldLastSuccessfulRun.yaml",
     CRON "status: {lastScheduleTime: '2024-01-02T00:00:00Z', lastSuccessfulTime: "
          "'2024-01-01T00:01:10Z'}\n",
     HEALTH_DEGRADED, "CronJob has not run successfully"},
    {"noLastSuccessfulRun.yaml", CRON "status: {lastScheduleTime: '2024-01-02T00:00:00Z'}\n",
     HEALTH_DEGRADED, "CronJob has not run successfully"},
    {"cronjob v1beta1 too",
     "apiVersion: batch/v1beta1\nkind: CronJob\nmetadata: {name: n}\nstatus: {}\n", HEALTH_HEALTHY,
     "CronJob has never run"},
    {"cronjob bad time", CRON "status: {lastScheduleTime: yesterday}\n", HEALTH_UNKNOWN,
     "CronJob status.lastScheduleTime: \"yesterday\" is not a time"},

    /* HorizontalPodAutoscaler */
    {"hpa-v2-degraded.yaml",
     HPA2 "status:\n  conditions:\n  - type: AbleToScale\n    status: 'False'\n"
          "    reason: FailedGetScale\n    message: 'the HPA controller was unable to get the "
          "target''s current scale: deployments/scale.apps \"sandbox-test-app-8\" not found'\n"
          "  - {type: ScalingActive, status: 'True', reason: ValidMetricFound, message: ok}\n",
     HEALTH_DEGRADED,
     "the HPA controller was unable to get the target's current scale: deployments/scale.apps "
     "\"sandbox-test-app-8\" not found"},
    {"hpa-v2-healthy.yaml",
     HPA2 "status:\n  conditions:\n  - {type: AbleToScale, status: 'True', reason: "
          "ReadyForNewScale, message: recommended size matches current size}\n",
     HEALTH_HEALTHY, "recommended size matches current size"},
    {"hpa-v2-progressing.yaml", HPA2 "status: {currentReplicas: 1}\n", HEALTH_PROGRESSING,
     "Waiting to Autoscale"},
    {"hpa-v2 limited",
     HPA2 "status:\n  conditions:\n  - {type: ScalingActive, status: 'True'}\n"
          "  - {type: ScalingLimited, status: 'True', message: too few}\n",
     HEALTH_HEALTHY, "too few"},
    {"hpa-v1-progressing-with-no-annotations.yaml",
     "apiVersion: autoscaling/v1\nkind: HorizontalPodAutoscaler\nmetadata: {name: s}\n",
     HEALTH_PROGRESSING, "Waiting to Autoscale"},
    {"hpa-v1-healthy.yaml",
     "apiVersion: autoscaling/v1\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: s\n"
     "  annotations:\n    autoscaling.alpha.kubernetes.io/conditions: '[{\"type\":\"AbleToScale\","
     "\"status\":\"True\",\"reason\":\"SucceededGetScale\",\"message\":\"the HPA controller was "
     "able to get the target''s current scale\"}]'\n",
     HEALTH_HEALTHY, "the HPA controller was able to get the target's current scale"},
    {"hpa-v1 bad annotation",
     "apiVersion: autoscaling/v1\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: s\n"
     "  annotations: {autoscaling.alpha.kubernetes.io/conditions: '{'}\n",
     HEALTH_UNKNOWN, "failed to convert conditions annotation to typed: "},
    {"hpa unknown version",
     "apiVersion: autoscaling/v3\nkind: HorizontalPodAutoscaler\nmetadata: {name: s}\n",
     HEALTH_UNKNOWN,
     "unsupported HorizontalPodAutoscaler GVK: autoscaling/v3, "
     "Kind=HorizontalPodAutoscaler"},

    /* APIService */
    {"apiservice-v1-false.yaml",
     APISVC "status:\n  conditions:\n  - type: Available\n    status: 'False'\n"
            "    reason: MissingEndpoints\n    message: endpoints for service/cert-manager-webhook "
            "in \"external-dns\" have no addresses\n",
     HEALTH_PROGRESSING,
     "MissingEndpoints: endpoints for service/cert-manager-webhook in \"external-dns\" have no "
     "addresses"},
    {"apiservice-v1-true.yaml",
     APISVC "status: {conditions: [{type: Available, status: 'True', reason: Passed, message: "
            "all checks passed}]}\n",
     HEALTH_HEALTHY, "Passed: all checks passed"},
    {"apiservice unprocessed", APISVC, HEALTH_PROGRESSING, "Waiting to be processed"},

    /* Namespace (edgecd), Workflow */
    {"namespace active",
     "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\nstatus: {phase: Active}\n",
     HEALTH_HEALTHY, ""},
    {"namespace terminating",
     "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\nstatus: {phase: Terminating}\n",
     HEALTH_PROGRESSING, "Namespace is terminating"},
    {"workflow running",
     "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: w}\n"
     "status: {phase: Running, message: This node is running}\n",
     HEALTH_PROGRESSING, "This node is running"},
    {"workflow failed",
     "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: w}\nstatus: {phase: "
     "Error}\n",
     HEALTH_DEGRADED, ""},

    /* No health */
    {"configmap", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: v}\n",
     HEALTH_NONE, ""},
    {"custom resource", "apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: c}\n",
     HEALTH_NONE, ""},
    {"argo cd application (no built-in since 1.8)",
     "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: a}\n"
     "status: {health: {status: Degraded}}\n",
     HEALTH_NONE, ""},
    {"no kind", "apiVersion: v1\nmetadata: {name: c}\n", HEALTH_UNKNOWN,
     "object has no apiVersion or kind"},
};

static json_t *parse_obj(const char *yaml)
{
    json_t *docs = NULL, *obj;
    if (doc_parse_yaml(&docs, yaml, strlen(yaml), "case.yaml", NULL) < 0) {
        fprintf(stderr, "bad test YAML: %s\n", err_last());
        exit(2);
    }
    obj = json_incref(json_array_get(docs, 0));
    json_decref(docs);
    return obj;
}

/* Assess yaml and compare; message must start with the expected text
 * (exact when the expected one ends the case). */
static int check_case(const health_checks *hc, const struct health_case *c)
{
    json_t *obj = parse_obj(c->yaml);
    struct health_result h;
    int ok;
    health_assess(&h, hc, obj);
    ok = h.status == c->status && h.message &&
         (c->message[0] && c->message[strlen(c->message) - 1] == ' '
              ? !strncmp(h.message, c->message, strlen(c->message))
              : !strcmp(h.message, c->message));
    if (!ok)
        fprintf(stderr, "%s: got %s \"%s\", expected %s \"%s\"\n", c->name,
                health_status_name(h.status), h.message ? h.message : "(null)",
                health_status_name(c->status), c->message);
    health_result_dispose(&h);
    json_decref(obj);
    return ok;
}

TEST(builtin_checks_match_argo_cd)
{
    int failed = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        failed += !check_case(NULL, &cases[i]);
    CHECK(failed == 0);
}

TEST(suspended_job_counts_as_healthy)
{
    json_t *obj = parse_obj(JOB "status: {conditions: [{type: Suspended, status: 'True'}]}\n");
    struct health_result h;
    health_assess(&h, NULL, obj);
    CHECK(h.status == HEALTH_SUSPENDED && h.aggregate_as == HEALTH_HEALTHY);
    health_result_dispose(&h);
    json_decref(obj);
}

TEST(status_names_and_order)
{
    static const enum health_status order[] = {HEALTH_HEALTHY, HEALTH_SUSPENDED, HEALTH_PROGRESSING,
                                               HEALTH_MISSING, HEALTH_DEGRADED,  HEALTH_UNKNOWN};
    enum health_status s;
    CHECK_STR(health_status_name(HEALTH_NONE), "");
    CHECK_STR(health_status_name(HEALTH_PROGRESSING), "Progressing");
    CHECK(health_status_parse("Missing", &s) == 0 && s == HEALTH_MISSING);
    CHECK(health_status_parse("missing", &s) < 0);
    /* Argo CD's TestIsWorse */
    CHECK(health_is_worse(HEALTH_HEALTHY, HEALTH_PROGRESSING));
    CHECK(health_is_worse(HEALTH_HEALTHY, HEALTH_DEGRADED));
    CHECK(!health_is_worse(HEALTH_DEGRADED, HEALTH_PROGRESSING));
    for (size_t i = 0; i + 1 < 6; i++) {
        enum health_status pair[2] = {order[i + 1], order[i]};
        CHECK(health_is_worse(order[i], order[i + 1]));
        CHECK(!health_is_worse(order[i + 1], order[i]));
        CHECK(health_worst(pair, 2) == order[i + 1]);
    }
    CHECK(health_worst(order, 6) == HEALTH_UNKNOWN);
    CHECK(health_worst(NULL, 0) == HEALTH_HEALTHY);
}

/* An argocd-cm with health scripts for the Lua tests. */
static const char lua_cm[] =
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: argocd-cm}\ndata:\n"
    "  resource.customizations.health.cert-manager.io_Certificate: |\n"
    "    hs = {}\n"
    "    if obj.status ~= nil and obj.status.conditions ~= nil then\n"
    "      for i, condition in ipairs(obj.status.conditions) do\n"
    "        if condition.type == \"Ready\" and condition.status == \"False\" then\n"
    "          hs.status = \"Degraded\"\n"
    "          hs.message = condition.message\n"
    "          return hs\n"
    "        end\n"
    "        if condition.type == \"Ready\" and condition.status == \"True\" then\n"
    "          hs.status = \"Healthy\"\n"
    "          hs.message = condition.message\n"
    "          return hs\n"
    "        end\n"
    "      end\n"
    "    end\n"
    "    hs.status = \"Progressing\"\n"
    "    hs.message = \"Waiting for certificate\"\n"
    "    return hs\n"
    "  resource.customizations.health.apps_Deployment: |\n"
    "    return {status = 'Healthy', message = 'overridden: ' .. obj.metadata.name}\n"
    "  resource.customizations.health.example.com_Error: |\n"
    "    return {status = obj.status.phase}\n"
    "  resource.customizations.health.example.com_Loop: |\n"
    "    while true do end\n"
    "  resource.customizations.health.example.com_Bomb: |\n"
    "    local t = {}\n"
    "    for i = 1, 1e9 do t[i] = string.rep('x', 4096) .. i end\n"
    "  resource.customizations.health.example.com_Exec: |\n"
    "    os.execute('rm -rf /')\n"
    "    return {status = 'Healthy'}\n"
    "  resource.customizations.health.example.com_Bytecode: |\n"
    "    return load('\\27Lua\\84\\0\\25\\147\\r\\n\\26\\n')()\n"
    "  resource.customizations.health.example.com_String: |\n"
    "    return 'Healthy'\n"
    "  resource.customizations.health.example.com_Nothing: |\n"
    "    hs = {status = 'Healthy'}\n"
    "  resource.customizations.health.example.com_Invalid: |\n"
    "    return {status = 'Fine', message = 'all good'}\n"
    "  resource.customizations.health.example.com_Empty: |\n"
    "    return {}\n"
    "  resource.customizations.health.example.com_NumberMessage: |\n"
    "    return {status = 'Healthy', message = 42}\n"
    "  resource.customizations.health.example.com_Missing: |\n"
    "    return {status = 'Missing', message = 'gone', aggregateAs = 'Healthy'}\n"
    "  resource.customizations.health.example.com_Global: |\n"
    "    if seen ~= nil then return {status = 'Degraded', message = 'state leaked'} end\n"
    "    seen = true\n"
    "    return {status = 'Healthy', message = 'fresh'}\n"
    "  resource.customizations: |\n"
    "    \"*.crossplane.io/*\":\n"
    "      health.lua: |\n"
    "        return {status = 'Suspended', message = 'wildcard ' .. obj.kind}\n"
    "    ec2.aws.crossplane.io/Exact:\n"
    "      health.lua: |\n"
    "        return {status = 'Healthy', message = 'exact wins'}\n";

#define CR(kind) "apiVersion: example.com/v1\nkind: " kind "\nmetadata: {name: x}\n"

static const struct health_case lua_cases[] = {
    {"certificate ready false",
     "apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: c}\n"
     "status: {conditions: [{type: Ready, status: 'False', message: 'Issuing certificate as "
     "Secret does not exist'}]}\n",
     HEALTH_DEGRADED, "Issuing certificate as Secret does not exist"},
    {"certificate without status",
     "apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: c}\n", HEALTH_PROGRESSING,
     "Waiting for certificate"},
    {"a script replaces the built-in check",
     DEPLOY "spec: {replicas: 3}\nstatus: {observedGeneration: 1}\n", HEALTH_HEALTHY,
     "overridden: web"},
    {"deletion comes before the script",
     "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, deletionTimestamp: "
     "'2024-01-01T00:00:00Z'}\n",
     HEALTH_PROGRESSING, "Pending deletion"},
    {"script error", CR("Error"), HEALTH_UNKNOWN,
     "example.com/Error health.lua:1: attempt to index a nil value (field 'status')"},
    {"infinite loop", CR("Loop"), HEALTH_UNKNOWN, "instruction limit of 100000 exceeded"},
    {"memory bomb", CR("Bomb"), HEALTH_UNKNOWN, "memory limit of 2097152 bytes exceeded"},
    {"os.execute", CR("Exec"), HEALTH_UNKNOWN,
     "example.com/Exec health.lua:1: attempt to call a nil value (field 'execute')"},
    {"bytecode", CR("Bytecode"), HEALTH_UNKNOWN,
     "example.com/Bytecode health.lua:1: attempt to call a nil value"},
    {"returns a string", CR("String"), HEALTH_UNKNOWN,
     "expect table output from Lua script, not string"},
    {"returns nothing", CR("Nothing"), HEALTH_UNKNOWN,
     "expect table output from Lua script, not nil"},
    {"invalid status", CR("Invalid"), HEALTH_UNKNOWN, "Lua returned an invalid health status"},
    {"no status", CR("Empty"), HEALTH_UNKNOWN, "Lua returned an invalid health status"},
    {"message not a string", CR("NumberMessage"), HEALTH_UNKNOWN,
     "Lua returned a message that is not a string"},
    {"Missing is a status a script may give", CR("Missing"), HEALTH_MISSING, "gone"},
    {"wildcard", "apiVersion: s3.aws.crossplane.io/v1\nkind: Bucket\nmetadata: {name: b}\n",
     HEALTH_SUSPENDED, "wildcard Bucket"},
    {"exact key before wildcard",
     "apiVersion: ec2.aws.crossplane.io/v1\nkind: Exact\nmetadata: {name: b}\n", HEALTH_HEALTHY,
     "exact wins"},
    {"no script, no built-in", CR("Other"), HEALTH_NONE, ""},
    {"built-ins still apply to kinds without a script",
     "apiVersion: v1\nkind: Namespace\nmetadata: {name: n}\nstatus: {phase: Terminating}\n",
     HEALTH_PROGRESSING, "Namespace is terminating"},
};

static health_checks *lua_checks(void)
{
    struct settings s;
    struct luabox_limits lim = {2u << 20, 100000, 5000};
    health_checks *hc = NULL;
    if (settings_parse(&s, lua_cm, strlen(lua_cm), "argocd-cm.yaml") < 0 ||
        health_checks_new(&hc, &s, &lim) < 0) {
        fprintf(stderr, "lua settings: %s\n", err_last());
        exit(2);
    }
    settings_dispose(&s);
    return hc;
}

TEST(lua_checks_with_argo_cd_contract)
{
    health_checks *hc = lua_checks();
    int failed = 0;
    for (size_t i = 0; i < sizeof(lua_cases) / sizeof(lua_cases[0]); i++)
        failed += !check_case(hc, &lua_cases[i]);
    health_checks_free(hc);
    CHECK(failed == 0);
}

TEST(lua_aggregate_as_and_no_leaks_between_objects)
{
    health_checks *hc = lua_checks();
    json_t *obj = parse_obj(CR("Missing")), *g = parse_obj(CR("Global"));
    struct health_result h;
    health_assess(&h, hc, obj);
    CHECK(h.status == HEALTH_MISSING && h.aggregate_as == HEALTH_HEALTHY);
    health_result_dispose(&h);
    for (int i = 0; i < 3; i++) {
        health_assess(&h, hc, g);
        CHECK_STR(h.message, "fresh");
        health_result_dispose(&h);
    }
    json_decref(obj);
    json_decref(g);
    health_checks_free(hc);
}

TEST(bad_scripts_fail_at_load_with_file_line)
{
    static const char *const bad[][2] = {
        {"kind: ConfigMap\ndata:\n"
         "  resource.customizations.health.apps_Deployment: |\n"
         "    hs = {}\n"
         "    if obj.status then\n"
         "    return hs\n",
         "argocd-cm.yaml:7: resource.customizations.health.apps_Deployment: script line 4: "
         "'end' expected (to close 'if' at line 2) near <eof>"},
        {"kind: ConfigMap\ndata:\n"
         "  resource.customizations: |\n"
         "    apps/Deployment:\n"
         "      health.lua: |\n"
         "        return {status = }\n",
         "argocd-cm.yaml:6: resource.customizations: apps/Deployment: health.lua: script line "
         "1: unexpected symbol near '}'"},
        {"kind: ConfigMap\ndata:\n"
         "  resource.customizations: |\n"
         "    \"[ab/*\":\n"
         "      health.lua: return {}\n",
         "argocd-cm.yaml: resource.customizations: [ab/*: health.lua: glob \"[ab/*\""},
    };
    for (size_t i = 0; i < 3; i++) {
        struct settings s;
        health_checks *hc = NULL;
        CHECK_OK(settings_parse(&s, bad[i][0], strlen(bad[i][0]), "argocd-cm.yaml"));
        CHECK_ERR(health_checks_new(&hc, &s, NULL), ERR_INVALID);
        CHECK(hc == NULL);
        settings_dispose(&s);
        if (strncmp(err_last(), bad[i][1], strlen(bad[i][1])) != 0)
            TEST_FAIL_("case %zu: \"%s\", expected \"%s\"", i, err_last(), bad[i][1]);
    }
}

static struct health_result with(enum health_status s)
{
    struct health_result r = {s, s, NULL};
    return r;
}

TEST(app_health_follows_argo_cd)
{
    json_t *dep = parse_obj(DEPLOY), *cm = parse_obj("apiVersion: v1\nkind: ConfigMap\n");
    json_t *ignored = parse_obj("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n"
                                "  annotations: {argocd.argoproj.io/ignore-healthcheck: 'true'}\n");
    json_t *hook = parse_obj("apiVersion: batch/v1\nkind: Job\nmetadata:\n"
                             "  annotations: {argocd.argoproj.io/hook: PreSync}\n");
    json_t *helm_hook = parse_obj("apiVersion: batch/v1\nkind: Job\nmetadata:\n"
                                  "  annotations: {helm.sh/hook: pre-install}\n");
    json_t *skip = parse_obj("apiVersion: v1\nkind: Pod\nmetadata:\n"
                             "  annotations: {argocd.argoproj.io/hook: 'PreSync, Skip'}\n");
    json_t *child = parse_obj("apiVersion: argoproj.io/v1alpha1\nkind: Application\n");
    struct health_result healthy = with(HEALTH_HEALTHY), prog = with(HEALTH_PROGRESSING),
                         degraded = with(HEALTH_DEGRADED), unknown = with(HEALTH_UNKNOWN),
                         missing = with(HEALTH_MISSING), none = with(HEALTH_NONE),
                         susp_job = {HEALTH_SUSPENDED, HEALTH_HEALTHY, NULL},
                         susp = with(HEALTH_SUSPENDED);

    CHECK(health_app(NULL, 0) == HEALTH_HEALTHY);
    {
        struct health_resource r[] = {{dep, dep, &healthy}, {dep, dep, &prog}, {cm, cm, &none}};
        CHECK(health_app(r, 3) == HEALTH_PROGRESSING);
    }
    {
        struct health_resource r[] = {
            {dep, dep, &healthy}, {dep, dep, &susp}, {dep, dep, &degraded}, {dep, dep, &prog}};
        CHECK(health_app(r, 4) == HEALTH_DEGRADED);
        r[3].health = &unknown;
        CHECK(health_app(r, 4) == HEALTH_UNKNOWN);
        r[2].health = &missing; /* a live object a script calls Missing */
        r[3].health = &prog;
        CHECK(health_app(r, 4) == HEALTH_MISSING);
    }
    {
        /* a missing resource does not count: OutOfSync says it */
        struct health_resource r[] = {{dep, dep, &healthy}, {NULL, dep, NULL}};
        CHECK(health_app(r, 2) == HEALTH_HEALTHY);
        /* unless nothing exists at all */
        CHECK(health_app(r + 1, 1) == HEALTH_MISSING);
    }
    {
        /* ignore-healthcheck, hooks, Skip hooks, kinds without health */
        struct health_resource r[] = {{ignored, ignored, &degraded},
                                      {hook, hook, &degraded},
                                      {helm_hook, helm_hook, &unknown},
                                      {NULL, skip, NULL},
                                      {cm, cm, &none},
                                      {dep, dep, &susp}};
        CHECK(health_app(r, 6) == HEALTH_SUSPENDED);
        /* with only hooks and a skipped target, nothing counts: Healthy */
        CHECK(health_app(r + 1, 3) == HEALTH_HEALTHY);
    }
    {
        /* a child Application Missing or Unknown does not count; Degraded does */
        struct health_resource r[] = {{dep, dep, &healthy}, {child, child, &unknown}};
        CHECK(health_app(r, 2) == HEALTH_HEALTHY);
        r[1].health = &missing;
        CHECK(health_app(r, 2) == HEALTH_HEALTHY);
        r[1].health = &degraded;
        CHECK(health_app(r, 2) == HEALTH_DEGRADED);
    }
    {
        /* a suspended Job counts as Healthy */
        struct health_resource r[] = {{dep, dep, &healthy}, {hook, NULL, &healthy}};
        r[1].live = dep;
        r[1].health = &susp_job;
        CHECK(health_app(r, 2) == HEALTH_HEALTHY);
    }
    json_decref(dep);
    json_decref(cm);
    json_decref(ignored);
    json_decref(hook);
    json_decref(helm_hook);
    json_decref(skip);
    json_decref(child);
}

int main(void)
{
    RUN(builtin_checks_match_argo_cd);
    RUN(suspended_job_counts_as_healthy);
    RUN(status_names_and_order);
    RUN(lua_checks_with_argo_cd_contract);
    RUN(lua_aggregate_as_and_no_leaks_between_objects);
    RUN(bad_scripts_fail_at_load_with_file_line);
    RUN(app_health_follows_argo_cd);
    return TEST_END();
}
