#!/usr/bin/env python3
"""The deployment files against the binary they deploy (no cluster, no Docker needed).

    tests/deploy_test.py path/to/fraudstream [-v]

Parses every manifest of deploy/k8s/ and the Prometheus files, and checks what a cluster
would only reveal at run time:
  * every container runs one image (fraudstream:<project version>), a real subcommand, and
    only flags that `fraudstream <command> --help` lists, each with a value when it takes
    one, and every option the command requires;
  * $(VAR) in args resolve to the container's env, and every ConfigMap key, PVC and Secret
    volume referenced exists (or, for Secrets, is documented in deploy/README.md);
  * ports agree: --port / --metrics-port, containerPort, the Service's targetPort, the
    prometheus.io/port annotation, and the probes' port; the probes and prometheus.io/path
    ask for routes the binary serves on that port (read from src/serve and src/metrics);
  * the API's readiness probe is /readyz and its liveness probe /healthz; the HPA targets
    the API Deployment; Services and PodDisruptionBudgets select existing pods;
  * prometheus.yml loads rules.yml, passes `promtool check config` (Debian's promtool has no
    Kubernetes discovery, so that job is checked with a static target in its place), and the
    job names rules.yml alerts on are the ones the scrape config produces; every metric and
    label value the rules match is exported by src/ (an alert on a series nobody exports
    would never fire); every alert has a severity, annotations, `for:`, a test where it fires,
    one where it stays quiet, and a runbook line in deploy/README.md;
  * the Dockerfile's runtime stage is Debian 12, runs as a non-root user, exposes the ports,
    has ENTRYPOINT fraudstream, and installs packages that exist in apt (`apt-cache show`) and
    that provide every shared library the binary needs (`dpkg -S`).
Fails with a message naming the file and the problem; nothing is skipped.
"""

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import unittest

try:
    import yaml
except ImportError:
    sys.exit("deploy_test: python3-yaml is missing (scripts/install-deps.sh installs it)")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
K8S = os.path.join(ROOT, "deploy", "k8s")
PROM = os.path.join(ROOT, "deploy", "prometheus")
BINARY = None  # set in main()

WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}
# The flags that set each long-running command's HTTP port and address, and the source file
# whose http.Get/Post routes that port serves.
PORT_FLAGS = {
    "serve": ("--port", "--host", "src/serve/server.cc"),
    "stream": ("--metrics-port", "--metrics-host", "src/metrics/metrics_server.cc"),
    "monitor": ("--metrics-port", "--metrics-host", "src/metrics/metrics_server.cc"),
}
HELP_CACHE = {}


def read(path):
    with open(path) as f:
        return f.read()


def project_version():
    text = read(os.path.join(ROOT, "CMakeLists.txt"))
    m = re.search(r"project\(\s*fraudstream\s+VERSION\s+([0-9.]+)", text)
    assert m, "CMakeLists.txt: no project(fraudstream VERSION ...)"
    return m.group(1)


def load_manifests():
    docs = []
    for name in sorted(os.listdir(K8S)):
        if not name.endswith((".yaml", ".yml")):
            continue
        path = os.path.join(K8S, name)
        with open(path) as f:
            for doc in yaml.safe_load_all(f):
                if doc is not None:
                    docs.append((name, doc))
    return docs


def pod_template(doc):
    spec = doc["spec"]
    if doc["kind"] == "CronJob":
        return spec["jobTemplate"]["spec"]["template"]
    return spec["template"]


def served_routes(source):
    """Routes the binary registers in a source file: http.Get("/x", ...) and http.Post."""
    text = read(os.path.join(ROOT, source))
    routes = set(re.findall(r'\.(?:Get|Post|Put|Delete)\(\s*"(/[^"]*)"', text))
    assert routes, f"{source}: found no http.Get/Post routes (has the server moved?)"
    return routes


class Help:
    """The options of `fraudstream <command> --help` (CLI11's format)."""

    def __init__(self, command):
        proc = subprocess.run([BINARY, command, "--help"], capture_output=True, text=True,
                              timeout=30)
        if proc.returncode != 0:
            raise AssertionError(
                f"`fraudstream {command} --help` failed (exit {proc.returncode}): "
                f"{(proc.stderr or proc.stdout).strip()[:300]} -- the manifests run this "
                f"command, so the binary must have it")
        self.options = {}  # name -> (takes_value, required, default, all its names)
        for line in proc.stdout.splitlines():
            m = re.match(r"\s+(-[^\s]+)(.*)$", line)
            if not m:
                continue
            names = m.group(1).split(",")
            rest = m.group(2)
            words = rest.split()
            # "TEXT", "INT=1000", "FLOAT:NONNEGATIVE=0", "TEXT:{gbdt,rf}" ... then REQUIRED.
            takes_value = bool(words) and re.match(r"(TEXT|INT|UINT|FLOAT|BOOLEAN|NUMBER)\b",
                                                   words[0]) is not None
            default = None
            if takes_value:
                d = re.search(r"=(\S+)", words[0])
                default = d.group(1) if d else None
            required = "REQUIRED" in words[:3]
            option = (takes_value, required, default, tuple(names))
            for n in names:
                self.options[n] = option
        assert self.options, f"`fraudstream {command} --help` listed no options"


def help_for(command):
    if command not in HELP_CACHE:
        HELP_CACHE[command] = Help(command)
    return HELP_CACHE[command]


def parse_args(where, command, args):
    """Validates args against the command's help; returns {flag: [values]}."""
    h = help_for(command)
    given = {}
    i = 0
    while i < len(args):
        a = str(args[i])
        if not a.startswith("-"):
            raise AssertionError(f"{where}: unexpected positional argument {a!r} "
                                 f"(fraudstream {command} takes flags here)")
        name, eq, inline = a.partition("=")
        if name not in h.options:
            raise AssertionError(f"{where}: `fraudstream {command}` has no flag {name} "
                                 f"(see `fraudstream {command} --help`)")
        takes_value = h.options[name][0]
        if takes_value:
            if eq:
                value = inline
            else:
                if i + 1 >= len(args) or str(args[i + 1]).startswith("--"):
                    raise AssertionError(f"{where}: {name} takes a value and has none")
                i += 1
                value = str(args[i])
        else:
            if eq:
                raise AssertionError(f"{where}: {name} is a switch and takes no value")
            value = None
        given.setdefault(name, []).append(value)
        i += 1
    # Every required option, under any of its names.
    for _, required, _, names in set(h.options.values()):
        if required and not any(n in given for n in names):
            raise AssertionError(f"{where}: `fraudstream {command}` requires {names[-1]}")
    return given


def containers():
    """(file, workload doc, pod template, container) for every container of every workload."""
    out = []
    for fname, doc in MANIFESTS:
        if doc["kind"] in WORKLOAD_KINDS:
            tmpl = pod_template(doc)
            for c in tmpl["spec"].get("containers", []) + tmpl["spec"].get("initContainers", []):
                out.append((fname, doc, tmpl, c))
    return out


def port_number(container, port):
    """A probe's or Service's port (number or name) as the container's port number."""
    if isinstance(port, int):
        return port
    if isinstance(port, str) and port.isdigit():
        return int(port)
    for p in container.get("ports", []):
        if p.get("name") == port:
            return p["containerPort"]
    raise AssertionError(f"container {container['name']}: no port named {port!r}")


def docs_of(kind):
    return [(f, d) for f, d in MANIFESTS if d["kind"] == kind]


def selects(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


def api_workload():
    found = [(f, d, t, c) for f, d, t, c in containers()
             if c.get("args") and c["args"][0] == "serve"]
    assert len(found) == 1, f"expected one container running `fraudstream serve`, found {len(found)}"
    return found[0]


class Manifests(unittest.TestCase):
    def test_every_document_is_a_namespace_agnostic_object(self):
        self.assertTrue(MANIFESTS, "deploy/k8s/ holds no manifests")
        for fname, doc in MANIFESTS:
            with self.subTest(file=fname, name=doc.get("metadata", {}).get("name")):
                for key in ("apiVersion", "kind", "metadata"):
                    self.assertIn(key, doc, f"{fname}: a document without {key}")
                self.assertIn("name", doc["metadata"], f"{fname}: {doc['kind']} without a name")
                self.assertNotIn("namespace", doc["metadata"],
                                 f"{fname}: {doc['kind']}/{doc['metadata']['name']} pins a "
                                 f"namespace; apply with kubectl -n instead")
        kinds = {d["kind"] for _, d in MANIFESTS}
        for kind in ("Deployment", "Service", "HorizontalPodAutoscaler", "ConfigMap", "CronJob"):
            self.assertIn(kind, kinds, f"deploy/k8s/ has no {kind}")

    def test_images(self):
        want = f"fraudstream:{project_version()}"
        for fname, doc, _, c in containers():
            with self.subTest(file=fname, container=c["name"]):
                image = c.get("image", "")
                self.assertTrue(image, f"{fname}: container {c['name']} has no image")
                repo, _, tag = image.rpartition(":")
                self.assertEqual(repo.rsplit("/", 1)[-1], "fraudstream",
                                 f"{fname}: container {c['name']} runs {image}, not fraudstream")
                self.assertEqual(image.rsplit("/", 1)[-1], want,
                                 f"{fname}: {image} is not the project version ({want}); "
                                 f"a moving tag like latest makes rollouts unrepeatable")
                self.assertNotIn("command", c, f"{fname}: {c['name']} overrides the image's "
                                 f"ENTRYPOINT (fraudstream); give the subcommand in args")

    def test_args_are_flags_of_the_binary(self):
        for fname, doc, _, c in containers():
            with self.subTest(file=fname, container=c["name"]):
                args = [str(a) for a in c.get("args", [])]
                self.assertTrue(args, f"{fname}: container {c['name']} has no args")
                where = f"{fname} ({c['name']})"
                parse_args(where, args[0], args[1:])

    def test_variables_and_config_references_resolve(self):
        config_values = {d["metadata"]["name"]: d.get("data") or {}
                         for _, d in docs_of("ConfigMap")}
        config = {name: set(data) for name, data in config_values.items()}
        claims = {d["metadata"]["name"] for _, d in docs_of("PersistentVolumeClaim")}
        readme = read(os.path.join(ROOT, "deploy", "README.md"))
        for fname, doc, tmpl, c in containers():
            where = f"{fname} ({c['name']})"
            env = {e["name"]: e for e in c.get("env", [])}
            for ref in c.get("envFrom", []):
                if "configMapRef" in ref:
                    self.assertIn(ref["configMapRef"]["name"], config, f"{where}: envFrom "
                                  f"ConfigMap {ref['configMapRef']['name']} is not in deploy/k8s/")
            for arg in c.get("args", []):
                for var in re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", str(arg)):
                    self.assertIn(var, env, f"{where}: args use $({var}) but the container "
                                  f"has no env {var} (Kubernetes would pass it literally)")
            for e in env.values():
                src = e.get("valueFrom", {})
                if "configMapKeyRef" in src:
                    ref = src["configMapKeyRef"]
                    self.assertIn(ref["name"], config,
                                  f"{where}: env {e['name']} reads ConfigMap {ref['name']}, "
                                  f"which is not in deploy/k8s/")
                    self.assertIn(ref["key"], config[ref["name"]],
                                  f"{where}: env {e['name']} reads key {ref['key']} that "
                                  f"ConfigMap {ref['name']} does not have")
                if "secretKeyRef" in src:
                    name = src["secretKeyRef"]["name"]
                    self.assertIn(name, readme, f"{where}: Secret {name} is not documented "
                                  f"in deploy/README.md (how to create it)")
            volumes = {v["name"]: v for v in tmpl["spec"].get("volumes", [])}
            for m in c.get("volumeMounts", []):
                self.assertIn(m["name"], volumes, f"{where}: mounts undefined volume {m['name']}")
            for v in volumes.values():
                if "persistentVolumeClaim" in v:
                    self.assertIn(v["persistentVolumeClaim"]["claimName"], claims,
                                  f"{fname}: PVC {v['persistentVolumeClaim']['claimName']} is "
                                  f"not in deploy/k8s/")
                if "secret" in v:
                    self.assertIn(v["secret"]["secretName"], readme,
                                  f"{fname}: Secret {v['secret']['secretName']} is not "
                                  f"documented in deploy/README.md")
            # The registry stores artifacts by absolute path (file://ROOT/...), so every pod
            # mounts the artifacts volume at the one FRAUDSTREAM_ARTIFACT_ROOT.
            root = env.get("FRAUDSTREAM_ARTIFACT_ROOT")
            if root is not None:
                ref = root.get("valueFrom", {}).get("configMapKeyRef")
                path = config_values[ref["name"]][ref["key"]] if ref else root.get("value")
                self.assertIn(path.rstrip("/"),
                              [m["mountPath"].rstrip("/") for m in c.get("volumeMounts", [])],
                              f"{where}: FRAUDSTREAM_ARTIFACT_ROOT {path} is not a mounted volume")
            # A file given to a flag (--token-file, --kafka-config...) lies in a mounted volume.
            for flag in ("--token-file", "--kafka-config", "--warm-up"):
                args = [str(a) for a in c.get("args", [])]
                if flag in args:
                    path = args[args.index(flag) + 1]
                    self.assertTrue(any(path.startswith(m["mountPath"].rstrip("/") + "/")
                                        for m in c.get("volumeMounts", [])),
                                    f"{where}: {flag} {path} is on no mounted volume")

    def test_ports_probes_and_scrape_annotations_agree(self):
        checked = 0
        for fname, doc, tmpl, c in containers():
            args = [str(a) for a in c.get("args", [])]
            if not args or args[0] not in PORT_FLAGS:
                continue
            command = args[0]
            flag, host_flag, source = PORT_FLAGS[command]
            where = f"{fname} ({c['name']})"
            given = parse_args(where, command, args[1:])
            self.assertIn(flag, given, f"{where}: `{command}` without {flag}: nothing to probe "
                          f"or scrape")
            port = int(given[flag][-1])
            routes = served_routes(source)
            declared = [p["containerPort"] for p in c.get("ports", [])]
            self.assertIn(port, declared, f"{where}: {flag} {port} but containerPorts {declared}")
            host = (given.get(host_flag) or [help_for(command).options[host_flag][2]])[-1]
            self.assertNotIn(host, ("127.0.0.1", "localhost", "::1", None),
                             f"{where}: {command} listens on {host}; probes, the Service and "
                             f"Prometheus reach the pod's IP (pass {host_flag} 0.0.0.0)")
            probes = {k: c[k] for k in ("readinessProbe", "livenessProbe", "startupProbe")
                      if k in c}
            self.assertIn("livenessProbe", probes, f"{where}: no livenessProbe")
            for kind, probe in probes.items():
                self.assertIn("httpGet", probe, f"{where}: {kind} is not an HTTP probe")
                get = probe["httpGet"]
                self.assertEqual(port_number(c, get["port"]), port,
                                 f"{where}: {kind} on port {get['port']}, the server on {port}")
                self.assertIn(get["path"], routes, f"{where}: {kind} asks for {get['path']}, "
                              f"which {source} does not serve (it serves {sorted(routes)})")
            if command == "serve":
                self.assertEqual(probes.get("readinessProbe", {}).get("httpGet", {}).get("path"),
                                 "/readyz", f"{where}: readiness must be /readyz (model loaded)")
                self.assertEqual(probes["livenessProbe"]["httpGet"]["path"], "/healthz",
                                 f"{where}: liveness must be /healthz")
            ann = tmpl["metadata"].get("annotations", {})
            self.assertEqual(ann.get("prometheus.io/scrape"), "true",
                             f"{where}: pods not annotated prometheus.io/scrape: \"true\"")
            self.assertEqual(str(ann.get("prometheus.io/port")), str(port),
                             f"{where}: prometheus.io/port {ann.get('prometheus.io/port')} but "
                             f"{flag} {port}")
            self.assertIn(ann.get("prometheus.io/path", "/metrics"), routes,
                          f"{where}: prometheus.io/path is not served")
            if doc["kind"] == "Deployment":
                res = c.get("resources", {})
                for part in ("requests", "limits"):
                    self.assertIn("memory", res.get(part, {}), f"{where}: no memory {part}")
                self.assertIn("cpu", res.get("requests", {}), f"{where}: no cpu request")
            checked += 1
        self.assertGreaterEqual(checked, 2, "expected the API and the stream workers")

    def test_service_reaches_the_api(self):
        fname, doc, tmpl, c = api_workload()
        port = int(parse_args(fname, "serve", [str(a) for a in c["args"][1:]])["--port"][-1])
        services = docs_of("Service")
        self.assertTrue(services, "no Service")
        matched = False
        for sfile, svc in services:
            if not selects(svc["spec"]["selector"], tmpl["metadata"]["labels"]):
                continue
            matched = True
            for p in svc["spec"]["ports"]:
                target = p.get("targetPort", p["port"])
                self.assertEqual(port_number(c, target), port,
                                 f"{sfile}: targetPort {target} is not serve's --port {port}")
        self.assertTrue(matched, "no Service selects the API pods")
        # Every Service selects some pods.
        for sfile, svc in services:
            self.assertTrue(any(selects(svc["spec"]["selector"], t["metadata"]["labels"])
                                for _, _, t, _ in containers()),
                            f"{sfile}: Service {svc['metadata']['name']} selects no pods")

    def test_hpa_targets_the_api_deployment(self):
        fname, doc, _, c = api_workload()
        hpas = docs_of("HorizontalPodAutoscaler")
        self.assertEqual(len(hpas), 1, "expected one HorizontalPodAutoscaler")
        hfile, hpa = hpas[0]
        self.assertEqual(hpa["apiVersion"], "autoscaling/v2", f"{hfile}: not autoscaling/v2")
        ref = hpa["spec"]["scaleTargetRef"]
        self.assertEqual((ref["kind"], ref["name"]), ("Deployment", doc["metadata"]["name"]),
                         f"{hfile}: scales {ref['kind']}/{ref['name']}, not the API Deployment")
        self.assertLessEqual(hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"])
        cpu = [m for m in hpa["spec"]["metrics"]
               if m["type"] == "Resource" and m["resource"]["name"] == "cpu"]
        self.assertTrue(cpu, f"{hfile}: no CPU metric")
        self.assertIn("cpu", c["resources"]["requests"],
                      f"{fname}: CPU utilisation needs a CPU request")
        self.assertGreaterEqual(doc["spec"]["replicas"], 3, f"{fname}: fewer than 3 replicas")

    def test_disruption_budgets_select_pods(self):
        for pfile, pdb in docs_of("PodDisruptionBudget"):
            sel = pdb["spec"]["selector"]["matchLabels"]
            self.assertTrue(any(selects(sel, t["metadata"]["labels"])
                                for _, _, t, _ in containers()),
                            f"{pfile}: PodDisruptionBudget {pdb['metadata']['name']} selects "
                            f"no pods")

    def test_deployment_selectors_match_their_pods(self):
        for fname, doc in MANIFESTS:
            if doc["kind"] in ("Deployment", "StatefulSet", "DaemonSet"):
                self.assertTrue(selects(doc["spec"]["selector"]["matchLabels"],
                                        doc["spec"]["template"]["metadata"]["labels"]),
                                f"{fname}: selector does not match the pod labels")


class Prometheus(unittest.TestCase):
    def setUp(self):
        if shutil.which("promtool") is None:
            self.fail("promtool not found: install the Debian package prometheus")
        self.config = yaml.safe_load(read(os.path.join(PROM, "prometheus.yml")))

    def test_config_loads_the_rules_and_passes_promtool(self):
        self.assertIn("rules.yml", self.config.get("rule_files", []))
        # Debian's Prometheus is built without Kubernetes discovery: check everything else
        # with a static target in place of kubernetes_sd_configs.
        config = yaml.safe_load(yaml.safe_dump(self.config))
        for job in config["scrape_configs"]:
            if job.pop("kubernetes_sd_configs", None) is not None:
                job["static_configs"] = [{"targets": ["pod.example:8080"]}]
        with tempfile.TemporaryDirectory() as tmp:
            shutil.copy(os.path.join(PROM, "rules.yml"), tmp)
            path = os.path.join(tmp, "prometheus.yml")
            with open(path, "w") as f:
                yaml.safe_dump(config, f)
            proc = subprocess.run(["promtool", "check", "config", path], capture_output=True,
                                  text=True)
            self.assertEqual(proc.returncode, 0, f"promtool check config:\n{proc.stdout}"
                             f"{proc.stderr}")

    def test_scrape_jobs_are_the_ones_the_rules_name(self):
        sd_jobs = [j for j in self.config["scrape_configs"] if "kubernetes_sd_configs" in j]
        self.assertTrue(sd_jobs, "prometheus.yml: no kubernetes_sd_configs job")
        relabel = sd_jobs[0]["relabel_configs"]
        sources = {s for r in relabel for s in r.get("source_labels", [])}
        # The annotations the manifests set are the ones the relabelling reads.
        for ann in ("prometheus.io/scrape", "prometheus.io/port", "prometheus.io/path"):
            meta = "__meta_kubernetes_pod_annotation_" + re.sub(r"[^a-zA-Z0-9]", "_", ann)
            self.assertIn(meta, sources, f"prometheus.yml: does not read annotation {ann}")
        job_rule = [r for r in relabel if r.get("target_label") == "job"]
        self.assertEqual(len(job_rule), 1, "prometheus.yml: the pod job sets no job label")
        job_rule = job_rule[0]
        label = job_rule["source_labels"][0]
        self.assertTrue(label.startswith("__meta_kubernetes_pod_label_"))
        jobs = set()
        for fname, doc, tmpl, c in containers():
            ann = tmpl["metadata"].get("annotations", {})
            if ann.get("prometheus.io/scrape") != "true":
                continue
            labels = {"__meta_kubernetes_pod_label_" + re.sub(r"[^a-zA-Z0-9]", "_", k): v
                      for k, v in tmpl["metadata"]["labels"].items()}
            self.assertIn(label, labels, f"{fname}: pods lack the label the job name comes from")
            m = re.fullmatch(job_rule.get("regex", "(.*)"), labels[label])
            jobs.add(m.expand(job_rule.get("replacement", "$1").replace("$1", r"\1")))
        rules = read(os.path.join(PROM, "rules.yml"))
        named = set()
        for m in re.finditer(r'job\s*(=~|=)\s*"([^"]+)"', rules):
            op, value = m.groups()
            for alt in value.split("|"):
                if ".*" not in alt:
                    named.add(alt)
            if op == "=~":
                self.assertTrue(any(re.fullmatch(value, j) for j in jobs),
                                f"rules.yml: job=~\"{value}\" matches no scraped job {jobs}")
        self.assertTrue(named, "rules.yml names no job")
        for job in named:
            self.assertIn(job, jobs, f"rules.yml alerts on job {job}, which the scrape config "
                          f"does not produce (it produces {sorted(jobs)})")

    def test_rules_use_metrics_and_label_values_the_binary_exports(self):
        # An alert on a series nobody exports never fires: every fraudstream_* name in
        # rules.yml must be a string literal in src/ (metrics.h's GetCounter/GetGauge/
        # GetHistogram take names as literals), and each label value it matches with = a
        # literal of a file that exports that metric.
        files = []  # the string literals of each source file
        for dirpath, _, names in os.walk(os.path.join(ROOT, "src")):
            for n in names:
                if n.endswith((".cc", ".h")) and not n.endswith("_test.cc"):
                    text = read(os.path.join(dirpath, n))
                    files.append(set(re.findall(r'"([^"\\\n]*)"', text)))
        every = set().union(*files)

        def exported(name):
            return name if name in every else re.sub(r"_(bucket|sum|count)$", "", name)

        rules = yaml.safe_load(read(os.path.join(PROM, "rules.yml")))
        checked = 0
        for expr in (r["expr"] for g in rules["groups"] for r in g["rules"]):
            for name in re.findall(r"(?<![:\w])(fraudstream_\w+)", expr):
                self.assertTrue(exported(name) in every,
                                f"rules.yml uses {name}, which nothing in src/ exports")
                checked += 1
            for name, sel in re.findall(r"(?<![:\w])(fraudstream_\w+)\{([^}]*)\}", expr):
                for label, value in re.findall(r'(\w+)\s*=\s*"([^"]*)"', sel):
                    if label == "job":
                        continue
                    self.assertTrue(any(exported(name) in f and label in f and value in f
                                        for f in files),
                                    f"rules.yml matches {name}{{{label}=\"{value}\"}}: no "
                                    f"source file exporting {exported(name)} writes that label "
                                    f"value")
        self.assertGreater(checked, 10)

    def test_every_alert_has_severity_annotations_and_a_unit_test(self):
        rules = yaml.safe_load(read(os.path.join(PROM, "rules.yml")))
        tests = read(os.path.join(PROM, "rules_test.yml"))
        readme = read(os.path.join(ROOT, "deploy", "README.md"))
        alerts = [r for g in rules["groups"] for r in g["rules"] if "alert" in r]
        self.assertGreaterEqual(len(alerts), 6)
        for r in alerts:
            name = r["alert"]
            self.assertIn(r.get("labels", {}).get("severity"), ("critical", "warning", "info"),
                          f"{name}: no severity label")
            for a in ("summary", "description"):
                self.assertIn(a, r.get("annotations", {}), f"{name}: no {a} annotation")
            self.assertIn("for", r, f"{name}: no `for:`")
            # Both directions: a test expecting it and one expecting silence.
            blocks = re.findall(r"alertname: " + name + r"\n\s+exp_alerts:(.*?)(?=\n\s+- eval_time|\n  - interval|\Z)",
                                tests, re.S)
            self.assertTrue(any(b.strip().startswith("[]") for b in blocks),
                            f"rules_test.yml: no test where {name} stays quiet")
            self.assertTrue(any(not b.strip().startswith("[]") for b in blocks),
                            f"rules_test.yml: no test where {name} fires")
            self.assertIn(name, readme, f"deploy/README.md: no runbook line for {name}")


class Dockerfile(unittest.TestCase):
    def setUp(self):
        self.stages = []  # [(from, name, [(instruction, argument)])]
        text = read(os.path.join(ROOT, "Dockerfile"))
        text = re.sub(r"\\\n", " ", text)
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            instr, _, arg = line.partition(" ")
            instr = instr.upper()
            if instr == "FROM":
                parts = arg.split()
                name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
                self.stages.append((parts[0], name, []))
            else:
                self.assertTrue(self.stages, f"Dockerfile: {instr} before FROM")
                self.stages[-1][2].append((instr, arg.strip()))
        self.assertGreaterEqual(len(self.stages), 2, "Dockerfile: not multi-stage")
        self.runtime = self.stages[-1]

    def instructions(self, stage, instr):
        return [a for i, a in stage[2] if i == instr]

    def runtime_packages(self):
        packages = []
        for run in self.instructions(self.runtime, "RUN"):
            for cmd in re.split(r"&&|;", run):
                words = shlex.split(cmd)
                if len(words) > 2 and words[0] == "apt-get" and "install" in words:
                    packages += [w for w in words[words.index("install") + 1:]
                                 if not w.startswith("-")]
        return packages

    def test_stages(self):
        for image, _, _ in self.stages:
            self.assertRegex(image, r"^debian:(12|bookworm)(-slim)?$",
                             "Dockerfile: every stage on Debian 12")
        builder = self.stages[0]
        runs = " ".join(self.instructions(builder, "RUN"))
        self.assertIn("scripts/install-deps.sh", runs, "builder does not run install-deps.sh")
        self.assertIn("-DCMAKE_BUILD_TYPE=Release", runs, "builder: not a Release build")
        self.assertIn("--target fraudstream", runs, "builder: builds more than fraudstream")
        copies = [a for a in self.instructions(self.runtime, "COPY") if a.startswith("--from=")]
        self.assertTrue(copies, "runtime stage copies nothing from the builder")
        build_dir = re.search(r"-B\s+(\S+)", runs).group(1)
        self.assertTrue(any(os.path.join(build_dir, "fraudstream") in c for c in copies),
                        f"runtime stage does not copy {build_dir}/fraudstream")

    def test_runtime_entrypoint_user_ports(self):
        entry = self.instructions(self.runtime, "ENTRYPOINT")
        self.assertTrue(entry, "runtime stage: no ENTRYPOINT")
        import json
        words = json.loads(entry[-1])
        self.assertEqual(os.path.basename(words[0]), "fraudstream",
                         f"runtime ENTRYPOINT is {words}, not fraudstream")
        self.assertEqual(len(words), 1, "ENTRYPOINT fraudstream alone: the manifests' args "
                         "start with the subcommand")
        user = self.instructions(self.runtime, "USER")
        self.assertTrue(user and user[-1].split(":")[0] not in ("0", "root"),
                        "runtime stage runs as root")
        uid = user[-1].split(":")[0]
        exposed = {int(p.split("/")[0]) for e in self.instructions(self.runtime, "EXPOSE")
                   for p in e.split()}
        for fname, doc, tmpl, c in containers():
            for p in c.get("ports", []):
                self.assertIn(p["containerPort"], exposed,
                              f"Dockerfile does not EXPOSE {p['containerPort']} ({fname})")
            ctx = tmpl["spec"].get("securityContext", {})
            if uid.isdigit() and "runAsUser" in ctx:
                self.assertEqual(str(ctx["runAsUser"]), uid,
                                 f"{fname}: runAsUser {ctx['runAsUser']}, the image's user {uid}")

    def test_runtime_packages_exist_in_apt(self):
        packages = self.runtime_packages()
        self.assertTrue(packages, "runtime stage installs no packages")
        self.assertIsNotNone(shutil.which("apt-cache"), "apt-cache not found: this check "
                             "needs a Debian system")
        for p in packages:
            proc = subprocess.run(["apt-cache", "show", p], capture_output=True, text=True)
            self.assertTrue(proc.returncode == 0 and proc.stdout.strip(),
                            f"Dockerfile: runtime package {p} is not known to apt "
                            f"(apt-cache show {p}: {proc.stderr.strip()})")

    def test_runtime_packages_provide_the_binarys_libraries(self):
        packages = set(self.runtime_packages())
        # In debian:12-slim already (Essential: yes, or what apt itself needs).
        base = {"libc6", "libgcc-s1", "libstdc++6", "zlib1g"}
        # The sanitizer runtimes of an ASan/UBSan build (ctest -L unit runs there too) are
        # never in a Release image.
        sanitizers = re.compile(r"^lib(asan|ubsan|lsan|tsan)\.so")
        proc = subprocess.run(["ldd", BINARY], capture_output=True, text=True)
        self.assertEqual(proc.returncode, 0, f"ldd {BINARY}: {proc.stderr}")
        needed = subprocess.run(["readelf", "-d", BINARY], capture_output=True, text=True)
        self.assertEqual(needed.returncode, 0, f"readelf -d {BINARY}: {needed.stderr}")
        direct = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", needed.stdout)
        self.assertTrue(direct, "readelf found no NEEDED libraries")
        paths = dict(re.findall(r"^\s*(\S+) => (/\S+)", proc.stdout, re.M))
        for lib in direct:
            if sanitizers.match(lib):
                continue
            with self.subTest(library=lib):
                self.assertIn(lib, paths, f"ldd does not resolve {lib}")
                real = os.path.realpath(paths[lib])
                owner = None
                for candidate in (paths[lib], real, "/usr" + real, real.replace("/usr/", "/", 1)):
                    q = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
                    if q.returncode == 0:
                        owner = q.stdout.split(":")[0]
                        break
                self.assertIsNotNone(owner, f"{lib} ({real}) belongs to no Debian package")
                self.assertTrue(owner in packages or owner in base,
                                f"the binary needs {lib} from package {owner}, which the "
                                f"Dockerfile's runtime stage does not install")

    def test_dockerignore_excludes_build_dirs(self):
        lines = read(os.path.join(ROOT, ".dockerignore")).split()
        for pattern in ("build", "build-*"):
            self.assertTrue(pattern in lines or pattern + "/" in lines,
                            f".dockerignore does not exclude {pattern}")


def main():
    global BINARY, MANIFESTS
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    BINARY = os.path.abspath(sys.argv[1])
    if not os.access(BINARY, os.X_OK):
        sys.exit(f"deploy_test: {BINARY} is not an executable")
    MANIFESTS = load_manifests()
    unittest.main(argv=[sys.argv[0]] + sys.argv[2:], verbosity=2)


MANIFESTS = []
if __name__ == "__main__":
    main()
