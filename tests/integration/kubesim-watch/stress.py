#!/usr/bin/env python3
"""Concurrent watchers and a writer against kubesim: every watcher must
see every write, once, in order, with increasing resourceVersions.

usage: stress.py SIMDIR NAMESPACE CONFIGMAP WATCHERS WRITES
"""
import http.client
import json
import re
import ssl
import sys
import threading


def connect(simdir):
    kubeconfig = open(simdir + "/kubeconfig").read()
    port = int(re.search(r"https://127\.0\.0\.1:(\d+)", kubeconfig).group(1))
    ctx = ssl.create_default_context(cafile=simdir + "/ca.crt")
    ctx.load_cert_chain(simdir + "/client.crt", simdir + "/client.key")
    ctx.check_hostname = False
    return http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=120)


def main():
    simdir, ns, name, watchers, writes = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    base = "/api/v1/namespaces/%s/configmaps" % ns
    c = connect(simdir)
    c.request("GET", base + "/" + name)
    r = c.getresponse()
    rv0 = json.loads(r.read())["metadata"]["resourceVersion"]
    seen = [[] for _ in range(watchers)]
    ready = threading.Barrier(watchers + 1)
    errors = []

    def watch(i):
        try:
            w = connect(simdir)
            w.request("GET", "%s?watch=true&resourceVersion=%s&timeoutSeconds=100&fieldSelector=metadata.name%%3D%s" % (base, rv0, name))
            resp = w.getresponse()
            if resp.status != 200:
                errors.append("watcher %d: status %d" % (i, resp.status))
                ready.wait()
                return
            ready.wait()
            while len(seen[i]) < writes:
                line = resp.readline()
                if not line:
                    break
                e = json.loads(line)
                seen[i].append((e["type"], int(e["object"]["metadata"]["resourceVersion"]),
                                e["object"]["data"]["n"]))
            w.close()
        except Exception as ex:  # reported below, the test fails
            errors.append("watcher %d: %r" % (i, ex))

    threads = [threading.Thread(target=watch, args=(i,)) for i in range(watchers)]
    for t in threads:
        t.start()
    ready.wait()
    for n in range(1, writes + 1):
        c.request("PATCH", base + "/" + name, json.dumps({"data": {"n": str(n)}}),
                  {"Content-Type": "application/merge-patch+json"})
        r = c.getresponse()
        r.read()
        assert r.status == 200, r.status
    for t in threads:
        t.join(120)
    assert not errors, errors
    want = [str(n) for n in range(1, writes + 1)]
    for i, s in enumerate(seen):
        assert [e[2] for e in s] == want, (i, s)
        assert all(e[0] == "MODIFIED" for e in s), (i, s)
        rvs = [e[1] for e in s]
        assert rvs == sorted(set(rvs)), (i, rvs)
    print("%d watchers saw all %d writes in order" % (watchers, writes))


main()
