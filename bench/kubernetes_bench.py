"""Benchmark `commander review` of a large Kubernetes manifest, against a peer in the same run.

Generates one multi-document manifest of N objects as real clusters hold
them: per application a Deployment (two containers, probes, env, volumes,
a security context on some), a Service, a ConfigMap, a ServiceAccount, a
Role and its RoleBinding, an Ingress, a NetworkPolicy, and now and then a
StatefulSet, DaemonSet or CronJob; a few objects break the Pod Security
Standards. Then it times whole cold `commander review` processes.

With `--peer PATH` (another `commander` executable, say one installed from
an older commit) the two are run interleaved, A B A B ..., so that a busy
machine slows both alike, and the ratio of the medians is printed. With
`--callgrind` each is also run once under `valgrind --tool=callgrind` and
the instructions executed are compared: a figure that load on the machine
does not change.

Usage:
    python bench/kubernetes_bench.py --objects 5000 --runs 7
    python bench/kubernetes_bench.py --objects 5000 --peer /tmp/old/bin/commander --callgrind
"""

from __future__ import annotations

import argparse
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

PER_APP = 8  # the objects every application brings (see `application`)


def container(name: str, rng: random.Random, *, hardened: bool) -> dict[str, Any]:
    """One container with what real ones carry: ports, env, probes, resources, mounts."""
    body: dict[str, Any] = {
        "name": name,
        "image": f"registry.example.com/{name}:1.{rng.randrange(40)}.{rng.randrange(9)}",
        "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
        "env": [
            {"name": "LOG_LEVEL", "value": "info"},
            {"name": "DB_HOST", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "db"}}},
        ],
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}},
        "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}},
        "volumeMounts": [{"name": "config", "mountPath": "/etc/app"}],
    }
    if hardened:
        body["securityContext"] = {
            "allowPrivilegeEscalation": False,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        }
    return body


def application(index: int, rng: random.Random) -> list[dict[str, Any]]:
    """The objects of one application in one namespace."""
    name, namespace = f"app{index}", f"team{index % 20}"
    labels = {"app": name, "tier": "web"}
    meta = {"name": name, "namespace": namespace, "labels": labels}
    hardened = rng.random() < 0.6
    pod_spec: dict[str, Any] = {
        "serviceAccountName": name,
        "containers": [
            container(name, rng, hardened=hardened),
            container("sidecar", rng, hardened=hardened),
        ],
        "volumes": [{"name": "config", "configMap": {"name": name}}],
    }
    roll = rng.random()
    if roll < 0.02:
        pod_spec["containers"][0]["securityContext"] = {"privileged": True}
    elif roll < 0.04:
        pod_spec["hostNetwork"] = True
    elif roll < 0.06:
        pod_spec["volumes"].append({"name": "host", "hostPath": {"path": "/var/log"}})
    kind = rng.choices(["Deployment", "StatefulSet", "DaemonSet", "CronJob"], [85, 5, 5, 5])[0]
    template = {"metadata": {"labels": labels}, "spec": pod_spec}
    spec: dict[str, Any] = {"selector": {"matchLabels": labels}, "template": template}
    if kind == "CronJob":
        spec = {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": template}}}
        pod_spec["restartPolicy"] = "OnFailure"
    elif kind != "DaemonSet":
        spec["replicas"] = rng.randrange(2, 6)
    workload = {"apiVersion": "apps/v1", "kind": kind, "metadata": meta, "spec": spec}
    if kind == "CronJob":
        workload["apiVersion"] = "batch/v1"
    return [
        workload,
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta,
            "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": 8080}]},
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": meta,
            "data": {"db": f"db{index}.internal:5432", "feature_flags": "a=1,b=0"},
        },
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": meta,
            "rules": [
                {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "watch"]},
                {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get"]},
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": meta,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}],
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": meta,
            "spec": {
                "rules": [
                    {
                        "host": f"{name}.example.com",
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "pathType": "Prefix",
                                    "backend": {"service": {"name": name, "port": {"number": 80}}},
                                }
                            ]
                        },
                    }
                ]
            },
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": meta,
            "spec": {
                "podSelector": {"matchLabels": labels},
                "ingress": [{"from": [{"podSelector": {"matchLabels": {"tier": "edge"}}}]}],
            },
        },
    ]


class _Dumper(yaml.SafeDumper):
    """Writes shared values out in full, as kubectl and Helm do: no anchors, no aliases."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def generate(n: int, seed: int = 5) -> str:
    """A manifest of n objects, as one multi-document YAML text."""
    rng = random.Random(seed)
    objects: list[dict[str, Any]] = []
    index = 0
    while len(objects) < n:
        objects.extend(application(index, rng))
        index += 1
    return yaml.dump_all(objects[:n], Dumper=_Dumper, sort_keys=False)


def run(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall and CPU (user + sys) seconds of one process; a failed review ends the bench."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, env=env, cwd=cwd, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 3, 4):
        sys.exit(f"bench: {' '.join(cmd)} failed ({proc.returncode}): {proc.stderr[:500]!r}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu


def instructions(cmd: list[str], env: dict[str, str], cwd: Path) -> int:
    """Instructions one process executes, as callgrind counts them."""
    out = cwd / f"callgrind.{time.monotonic_ns()}"
    proc = subprocess.run(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *cmd],
        capture_output=True,
        env=env,
        cwd=cwd,
        check=False,
    )
    found = re.search(rb"Collected : (\d+)", proc.stderr)
    if found is None:
        sys.exit(f"bench: callgrind gave no count: {proc.stderr[-500:]!r}")
    out.unlink(missing_ok=True)
    return int(found.group(1))


def main() -> None:
    """Run the benchmark and print medians and ratios."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--objects", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--peer", help="another commander executable, run interleaved")
    parser.add_argument("--callgrind", action="store_true", help="also count instructions")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="commander-k8s-bench-"))
    manifest = work / "manifest.yaml"
    manifest.write_text(generate(args.objects), encoding="utf-8")
    env = {**os.environ, "COMMANDER_DATABASE_URL": f"sqlite:///{work / 'audit.db'}"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    this = shutil.which("commander", path=str(Path(sys.executable).parent)) or "commander"
    contenders = {"commander": this, **({"peer": args.peer} if args.peer else {})}
    tail = ["review", str(manifest), "--kind", "kubernetes", "--output", "json"]
    tail += ["--source", "automation", "--environment", "production"]
    for exe in contenders.values():
        run([exe, *tail], env, work)  # creates the audit store: not part of a review's cost
    walls: dict[str, list[float]] = {name: [] for name in contenders}
    cpus: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(args.runs):
        for name, exe in contenders.items():  # interleaved: load hits both alike
            wall, cpu = run([exe, *tail], env, work)
            walls[name].append(wall)
            cpus[name].append(cpu)
    print(
        f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, load "
        f"{os.getloadavg()[0]:.2f}; manifest {manifest.stat().st_size / 1e6:.1f} MB, "
        f"{args.objects:,} objects, {args.runs} runs each"
    )
    for name in contenders:
        print(
            f"{name:<10} wall median {statistics.median(walls[name]):7.3f} s "
            f"(min {min(walls[name]):.3f}); CPU median {statistics.median(cpus[name]):7.3f} s"
        )
    if args.peer:
        for label, figures in (("wall", walls), ("CPU", cpus)):
            ratio = statistics.median(figures["commander"]) / statistics.median(figures["peer"])
            print(f"ratio commander / peer, {label} medians: {ratio:.3f}")
    if args.callgrind:
        counts = {name: instructions([exe, *tail], env, work) for name, exe in contenders.items()}
        for name, count in counts.items():
            print(f"{name:<10} instructions {count:,}")
        if args.peer:
            ratio = counts["commander"] / counts["peer"]
            print(f"ratio commander / peer, instructions: {ratio:.3f}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
