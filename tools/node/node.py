"""A real single Kubernetes node on this machine: containerd + kubelet + the control plane + kube-proxy + CoreDNS.

    python3 tools/node/node.py up      # foreground: starts everything, prints READY, stays until SIGTERM/SIGINT
    python3 tools/node/node.py down    # cleanup only: whatever a killed `up` left (processes, mounts, netns, cgroups,
                                       # iptables chains, the node bridge); safe to run any time, idempotent
    python3 tools/node/node.py leftovers   # JSON of whatever of the node is still there; exit 1 if anything

`tools/node/start.sh` / `tools/node/stop.sh` run `up` in the background with a pidfile; `make up CLUSTER=node`
(tools/node/up.sh) adds the images and the lab's chart on top.

Everything this starts comes from the pinned releases (versions.env) built by tools/build-tools.sh (`make tools`), and
Debian's containerd, runc and containernetworking-plugins. The process handling (process groups, PDEATHSIG, stop by
our own PIDs) and the PKI are tests/controlplane/cluster.py's; this file adds the node's certificates, a non-loopback
advertise address, the scheduler, the kubelet and kube-proxy. The admin kubeconfig's context is `bplab-local`.

Layout (all our own names, nothing shared with another containerd/docker/kubelet):
  state dir  $BPLAB_NODE_DIR (default /var/lib/bplab-node): pki, kubeconfigs, configs, logs, etcd data, kubelet root
  containerd root $BPLAB_CACHE/node/containerd (images survive a restart), state /run/bplab-containerd,
             socket /run/bplab-containerd/containerd.sock
  node address  NODE_IP on the bridge `bplab-node0` (a dummy interface is not available in this kernel)
  pods 10.244.0.0/24 on bridge `bplab-cni0` (CNI bridge + host-local), services 10.96.0.0/24, DNS 10.96.0.10
  cgroups     under /bplab in every v1 controller (kubelet cgroupRoot), cgroupfs driver
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests import ports  # noqa: E402
from tests.controlplane import cluster  # noqa: E402
from tests.controlplane.cluster import LeafCert, ManagedProcess, Pki, wait_until, write_kubeconfig  # noqa: E402

NODE_NAME = "bplab-node"
NODE_BRIDGE = "bplab-node0"
NODE_IP = os.environ.get("BPLAB_NODE_IP", "10.200.0.1")
CNI_BRIDGE = "bplab-cni0"
POD_CIDR = "10.244.0.0/24"
SERVICE_CIDR = "10.96.0.0/24"
KUBERNETES_SVC_IP = "10.96.0.1"
DNS_IP = "10.96.0.10"
APISERVER_PORT = 6443
CGROUP_ROOT = "bplab"
PAUSE_IMAGE = "registry.k8s.io/pause:3.10.1"
# The admin kubeconfig's context: `bplab --cluster` accepts it as the lab's (src/cli/cluster.py).
CONTEXT = "bplab-local"
FORWARD_CHAIN = "BPLAB-FORWARD"

STATE = Path(os.environ.get("BPLAB_NODE_DIR", "/var/lib/bplab-node"))
CACHE = cluster.cache_root()
CTRD_ROOT = CACHE / "node" / "containerd"
CTRD_STATE = Path("/run/bplab-containerd")
CTRD_SOCK = CTRD_STATE / "containerd.sock"
CNI_CONF_DIR = STATE / "cni" / "net.d"
CNI_IPAM_DIR = Path("/run/bplab-node/cni-ipam")
KUBELET_ROOT = STATE / "kubelet"
LOGS = STATE / "logs"
PKI = STATE / "pki"


def log(msg: str) -> None:
    print(f"[node {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def run(
    *args: str, check: bool = True, quiet: bool = False, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(list(args), input=stdin, capture_output=True, text=True, check=False)
    if check and res.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} -> {res.returncode}: {res.stderr.strip()}")
    if not quiet and res.returncode != 0:
        log(f"(ignored) {' '.join(args)} -> {res.returncode}: {res.stderr.strip()[:200]}")
    return res


def k8s_bin(name: str) -> str:
    version = cluster.read_versions()["KUBERNETES_VERSION"]
    path = CACHE / f"kubernetes-{version}" / "bin" / name
    if not os.access(path, os.X_OK):
        raise SystemExit(f"{path} missing: run `make tools`")
    return str(path)


# --- PKI ----------------------------------------------------------------------------------------------------------


def make_pki() -> None:
    """The control plane's PKI (cluster.Pki) plus the node's identities, fresh at every start (0.1 s): etcd starts
    empty each time anyway, and nothing can hold on to an old or expired certificate."""
    shutil.rmtree(PKI, ignore_errors=True)
    Pki.generate(
        PKI,
        days=365,
        ca_name="bplab-node-ca",
        apiserver_sans=[f"IP:{NODE_IP}", f"IP:{KUBERNETES_SVC_IP}", "DNS:kubernetes.default.svc.cluster.local"],
        extra_leaves=[
            LeafCert("scheduler", "/CN=system:kube-scheduler", "clientAuth"),
            LeafCert("kube-proxy", "/CN=system:kube-proxy", "clientAuth"),
            # The Node authorizer and NodeRestriction know the kubelet by this name and group.
            LeafCert("kubelet-client", f"/O=system:nodes/CN=system:node:{NODE_NAME}", "clientAuth"),
            LeafCert(
                "kubelet-serving", f"/CN={NODE_NAME}", "serverAuth", f"IP:{NODE_IP},DNS:{NODE_NAME},DNS:localhost"
            ),
            # kube-apiserver -> kubelet (logs, exec, port-forward): kubeadm's apiserver-kubelet-client.
            LeafCert(
                "apiserver-kubelet-client", "/O=kubeadm:cluster-admins/CN=kube-apiserver-kubelet-client", "clientAuth"
            ),
        ],
    )


def kubeconfig(name: str, cert: str, context: str | None = None) -> Path:
    return write_kubeconfig(STATE / f"{name}.kubeconfig", f"https://{NODE_IP}:{APISERVER_PORT}", PKI / "ca.crt",
                            name, client_cert=PKI / f"{cert}.crt", client_key=PKI / f"{cert}.key",
                            context=context)  # fmt: skip


# --- Host network -------------------------------------------------------------------------------------------------


def setup_network() -> None:
    for key, value in (("net.ipv4.ip_forward", "1"), ("net.bridge.bridge-nf-call-iptables", "1"),
                       ("net.bridge.bridge-nf-call-ip6tables", "1")):  # fmt: skip
        run("sysctl", "-qw", f"{key}={value}")
    if run("ip", "link", "show", NODE_BRIDGE, check=False, quiet=True).returncode != 0:
        run("ip", "link", "add", NODE_BRIDGE, "type", "bridge")
    run("ip", "addr", "replace", f"{NODE_IP}/32", "dev", NODE_BRIDGE)
    run("ip", "link", "set", NODE_BRIDGE, "up")
    # Docker (tools/docker/start-dockerd.sh) sets the FORWARD policy to DROP. With bridge-nf-call-iptables=1 even
    # pod-to-pod frames on our bridge pass FORWARD, so they die there. Our own chain, first in FORWARD, accepts the pod
    # range both ways. (CNI's `firewall` plugin was tried first: its per-pod rules went missing for some pods, e.g.
    # the operator's, whose calls to the producer's pod IP then timed out.)
    if run("iptables", "-S", FORWARD_CHAIN, check=False, quiet=True).returncode != 0:
        run("iptables", "-N", FORWARD_CHAIN)
    run("iptables", "-F", FORWARD_CHAIN)
    run("iptables", "-A", FORWARD_CHAIN, "-s", POD_CIDR, "-j", "ACCEPT")
    run("iptables", "-A", FORWARD_CHAIN, "-d", POD_CIDR, "-j", "ACCEPT")
    if run("iptables", "-C", "FORWARD", "-j", FORWARD_CHAIN, check=False, quiet=True).returncode != 0:
        run("iptables", "-I", "FORWARD", "1", "-j", FORWARD_CHAIN)


def write_cni_conf() -> None:
    CNI_CONF_DIR.mkdir(parents=True, exist_ok=True)
    conf = {
        "cniVersion": "1.0.0",
        "name": "bplab",
        "plugins": [
            {
                "type": "bridge", "bridge": CNI_BRIDGE, "isGateway": True, "ipMasq": True, "hairpinMode": True,
                "ipam": {"type": "host-local", "dataDir": str(CNI_IPAM_DIR),
                         "ranges": [[{"subnet": POD_CIDR}]], "routes": [{"dst": "0.0.0.0/0"}]},
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }  # fmt: skip
    (CNI_CONF_DIR / "10-bplab.conflist").write_text(json.dumps(conf, indent=2) + "\n")


# --- containerd ---------------------------------------------------------------------------------------------------


def containerd_config() -> Path:
    path = STATE / "containerd.toml"
    CTRD_ROOT.mkdir(parents=True, exist_ok=True)
    # BPLAB_RUNC: another runc binary (or a debugging wrapper that adds --debug --log) for the CRI's runc runtime.
    runc = os.environ.get("BPLAB_RUNC", "")
    runc_binary = f'\n        BinaryName = "{runc}"' if runc else ""
    path.write_text(f"""version = 2
root = "{CTRD_ROOT}"
state = "{CTRD_STATE}/state"
[grpc]
  address = "{CTRD_SOCK}"
[ttrpc]
  address = "{CTRD_STATE}/containerd.sock.ttrpc"
[debug]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "{CTRD_ROOT}/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{PAUSE_IMAGE}"
  enable_selinux = false
  # This VM's processes lack CAP_SYS_RESOURCE (CapBnd 000001fffeffffff: bit 24 cleared), so no process may lower its
  # oom_score_adj below 0: the kubelet asks -998 for every sandbox and runc dies with "nsexec: failed to update
  # /proc/self/oom_score_adj: Permission denied" -> "can't get final child's PID from pipe: EOF". This CRI option
  # (made for rootless containerd) clamps every requested score to containerd's own (0); positive scores still apply.
  restrict_oom_score_adj = true
  max_container_log_line_size = 16384
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "{CTRD_STATE}/runc"{runc_binary}
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{CNI_CONF_DIR}"
    max_conf_num = 1
""")
    return path


def ctr(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run("ctr", "--address", str(CTRD_SOCK), "-n", "k8s.io", *args, check=check)


IMAGES = CACHE / "node" / "images"
PROJECT_IMAGE_PREFIX = "docker.io/library/backpressure-lab:"


def import_images() -> None:
    """Every tarball tools/node/images.sh left (pause, CoreDNS, Jaeger, the project's image) into k8s.io: once per
    content (a record of what was imported keeps restarts fast; a rebuilt image under the same tag is imported
    again). The project's images that are no longer there (older tags) are removed, so containerd's root does not grow
    per build (image GC is off: nothing could be pulled back)."""
    have = ctr("images", "ls", "-q").stdout.split()
    record_file = CTRD_ROOT / "bplab-imported.json"
    record: dict[str, str] = json.loads(record_file.read_text()) if record_file.exists() else {}
    wanted = set()
    for tar in sorted(IMAGES.glob("*.tar")):
        ref_file, id_file = tar.with_suffix(".ref"), tar.with_suffix(".id")
        ref = ref_file.read_text().strip() if ref_file.exists() else ""
        stat = tar.stat()
        content = id_file.read_text().strip() if id_file.exists() else f"{stat.st_size}:{stat.st_mtime_ns}"
        wanted.add(ref)
        if ref and ref in have and record.get(ref) == content:
            continue
        t0 = time.monotonic()
        ctr("images", "import", "--all-platforms", str(tar))
        record[ref] = content
        record_file.write_text(json.dumps(record, indent=2) + "\n")
        log(f"imported {tar.name} ({ref}) in {time.monotonic() - t0:.1f} s")
    stale = [ref for ref in have if ref.startswith(PROJECT_IMAGE_PREFIX) and ref not in wanted]
    if stale:
        ctr("images", "rm", *stale, check=False)
        # The CRI plugin also names each image by its id (sha256:...): drop the ids no tag points at any more, so
        # containerd's garbage collector frees the content.
        rows = [line.split() for line in ctr("images", "ls").stdout.splitlines()[1:] if line.strip()]
        tagged = {row[2] for row in rows if not row[0].startswith("sha256:")}
        orphans = [row[0] for row in rows if row[0].startswith("sha256:") and row[2] not in tagged]
        if orphans:
            ctr("images", "rm", *orphans, check=False)
        log(f"removed older project images: {stale}")


# --- configs for the kubelet and kube-proxy -----------------------------------------------------------------------


def kubelet_config() -> Path:
    resolv = STATE / "resolv.conf"
    # Pods with dnsPolicy Default get this; the host's /etc/resolv.conf may point at a loopback stub.
    host = Path("/etc/resolv.conf").read_text() if Path("/etc/resolv.conf").exists() else ""
    resolv.write_text("".join(line + "\n" for line in host.splitlines() if line.startswith("nameserver")
                              and not line.split()[1].startswith("127.")) or "nameserver 192.0.2.1\n")  # fmt: skip
    cfg = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "cgroupDriver": "cgroupfs",
        "failCgroupV1": False,
        "cgroupRoot": f"/{CGROUP_ROOT}",
        "containerRuntimeEndpoint": f"unix://{CTRD_SOCK}",
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(PKI / "ca.crt")},
        },
        "authorization": {"mode": "Webhook"},
        "tlsCertFile": str(PKI / "kubelet-serving.crt"),
        "tlsPrivateKeyFile": str(PKI / "kubelet-serving.key"),
        "address": NODE_IP,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": 10248,
        "clusterDomain": "cluster.local",
        "clusterDNS": [DNS_IP],
        "resolvConf": str(resolv),
        "podCIDR": POD_CIDR,
        "failSwapOn": False,
        "hairpinMode": "hairpin-veth",
        "evictionHard": {"memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%",
                         "nodefs.inodesFree": "1%"},
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "serializeImagePulls": False,
        "maxPods": 60,
        "rotateCertificates": False,
        "serverTLSBootstrap": False,
        "protectKernelDefaults": False,
        "makeIPTablesUtilChains": True,
        "localStorageCapacityIsolation": True,
        "shutdownGracePeriod": "0s",
    }  # fmt: skip
    path = STATE / "kubelet-config.json"
    path.write_text(json.dumps(cfg, indent=2) + "\n")
    return path


def kube_proxy_config(kubeconfig_path: Path) -> Path:
    cfg = {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "mode": "iptables",
        "clientConnection": {"kubeconfig": str(kubeconfig_path)},
        "hostnameOverride": NODE_NAME,
        "clusterCIDR": "10.244.0.0/16",
        "bindAddress": NODE_IP,
        "healthzBindAddress": "127.0.0.1:10256",
        "metricsBindAddress": "127.0.0.1:10249",
        # Do not touch nf_conntrack sysctls (read-only or absent in this VM): 0 = leave as is.
        "conntrack": {"maxPerCore": 0, "min": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"},
        "iptables": {"masqueradeAll": False, "localhostNodePorts": False},
    }  # fmt: skip
    path = STATE / "kube-proxy-config.json"
    path.write_text(json.dumps(cfg, indent=2) + "\n")
    return path


# --- up -----------------------------------------------------------------------------------------------------------


class Node:
    def __init__(self) -> None:
        self.procs: list[ManagedProcess] = []
        self.timings: dict[str, float] = {}
        self.t0 = time.monotonic()

    def mark(self, what: str) -> None:
        self.timings[what] = round(time.monotonic() - self.t0, 2)
        log(f"{what}: {self.timings[what]} s")

    def start(self, name: str, args: list[str]) -> ManagedProcess:
        proc = ManagedProcess(name, args, LOGS / f"{name}.log")
        proc.start()
        self.procs.append(proc)
        return proc

    def kubectl(self, *args: str, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return run(
            k8s_bin("kubectl"), f"--kubeconfig={STATE / 'admin.kubeconfig'}", *args, check=check, quiet=not check,
            stdin=stdin,
        )  # fmt: skip

    def up(self) -> None:  # noqa: PLR0915 (one linear start sequence, kept in order on purpose)
        versions = cluster.read_versions()
        bins = cluster.find_binaries(versions)
        for d in (LOGS, KUBELET_ROOT, CTRD_STATE, CNI_IPAM_DIR):
            d.mkdir(parents=True, exist_ok=True)
        make_pki()
        self.mark("pki")
        setup_network()
        write_cni_conf()
        self.mark("network")

        # containerd
        ctrd = self.start("containerd", ["containerd", "--config", str(containerd_config())])
        wait_until(lambda: run("ctr", "--address", str(CTRD_SOCK), "version", check=False, quiet=True).returncode == 0,
                   timeout=30, what="containerd", proc=ctrd)  # fmt: skip
        self.mark("containerd_ready")
        import_images()
        self.mark("images_imported")

        # etcd
        etcd_port, peer = ports.free_ports(2)
        data = STATE / "etcd-data"
        shutil.rmtree(data, ignore_errors=True)
        curl, purl = f"http://127.0.0.1:{etcd_port}", f"http://127.0.0.1:{peer}"
        etcd = self.start("etcd", [
            str(bins.etcd), "--name=bplab", f"--data-dir={data}",
            f"--listen-client-urls={curl}", f"--advertise-client-urls={curl}",
            f"--listen-peer-urls={purl}", f"--initial-advertise-peer-urls={purl}",
            f"--initial-cluster=bplab={purl}", "--initial-cluster-state=new",
            "--unsafe-no-fsync", "--quota-backend-bytes=2147483648", "--log-level=warn",
        ])  # fmt: skip

        def etcd_ok() -> bool:
            import urllib.request  # noqa: PLC0415

            with urllib.request.urlopen(f"{curl}/health", timeout=1) as r:
                return bool(json.loads(r.read()).get("health") == "true")

        wait_until(etcd_ok, timeout=30, what="etcd", proc=etcd)
        self.mark("etcd_ready")

        p = PKI
        api = self.start("kube-apiserver", [
            str(bins.kube_apiserver), f"--etcd-servers={curl}",
            f"--bind-address={NODE_IP}", f"--advertise-address={NODE_IP}", f"--secure-port={APISERVER_PORT}",
            f"--cert-dir={STATE / 'apiserver-certs'}",
            f"--tls-cert-file={p / 'apiserver.crt'}", f"--tls-private-key-file={p / 'apiserver.key'}",
            f"--client-ca-file={p / 'ca.crt'}",
            f"--kubelet-client-certificate={p / 'apiserver-kubelet-client.crt'}",
            f"--kubelet-client-key={p / 'apiserver-kubelet-client.key'}",
            f"--kubelet-certificate-authority={p / 'ca.crt'}",
            "--kubelet-preferred-address-types=InternalIP,Hostname",
            "--authorization-mode=Node,RBAC", "--enable-admission-plugins=NodeRestriction",
            f"--service-account-issuer={cluster.SERVICE_ACCOUNT_ISSUER}",
            f"--service-account-key-file={p / 'sa.pub'}", f"--service-account-signing-key-file={p / 'sa.key'}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            f"--requestheader-client-ca-file={p / 'front-proxy-ca.crt'}",
            "--requestheader-allowed-names=front-proxy-client", "--requestheader-username-headers=X-Remote-User",
            "--requestheader-group-headers=X-Remote-Group", "--requestheader-extra-headers-prefix=X-Remote-Extra-",
            f"--proxy-client-cert-file={p / 'front-proxy-client.crt'}",
            f"--proxy-client-key-file={p / 'front-proxy-client.key'}",
            "--allow-privileged=true", "--profiling=false", "--v=1",
        ])  # fmt: skip
        admin = kubeconfig("admin", "admin", context=CONTEXT)
        wait_until(lambda: self.kubectl("get", "--raw=/readyz", check=False).returncode == 0, timeout=60,
                   what="kube-apiserver /readyz", proc=api, interval=0.3)  # fmt: skip
        self.mark("apiserver_ready")
        # kube-apiserver -> kubelet: the identity in the apiserver-kubelet-client cert may use the kubelet API.
        self.kubectl("create", "clusterrolebinding", "bplab-apiserver-kubelet",
                     "--clusterrole=system:kubelet-api-admin", "--user=kube-apiserver-kubelet-client",
                     check=False)  # fmt: skip

        cm_kc = kubeconfig("system:kube-controller-manager", "controller-manager")
        self.start("kube-controller-manager", [
            str(bins.kube_controller_manager), f"--kubeconfig={cm_kc}",
            f"--authentication-kubeconfig={cm_kc}", f"--authorization-kubeconfig={cm_kc}",
            "--bind-address=127.0.0.1", f"--secure-port={ports.free_port()}",
            f"--cert-dir={STATE / 'controller-manager-certs'}", "--leader-elect=false",
            "--use-service-account-credentials=true",
            f"--service-account-private-key-file={p / 'sa.key'}", f"--root-ca-file={p / 'ca.crt'}",
            f"--cluster-signing-cert-file={p / 'ca.crt'}", f"--cluster-signing-key-file={p / 'ca.key'}",
            f"--service-cluster-ip-range={SERVICE_CIDR}", "--allocate-node-cidrs=false",
            "--controllers=*", "--profiling=false", "--v=1",
        ])  # fmt: skip
        sched_kc = kubeconfig("system:kube-scheduler", "scheduler")
        self.start("kube-scheduler", [
            k8s_bin("kube-scheduler"), f"--kubeconfig={sched_kc}",
            f"--authentication-kubeconfig={sched_kc}", f"--authorization-kubeconfig={sched_kc}",
            "--bind-address=127.0.0.1", f"--secure-port={ports.free_port()}", "--leader-elect=false",
            "--profiling=false", "--v=1",
        ])  # fmt: skip

        # cgroupRoot must exist in every v1 hierarchy before the kubelet starts.
        for ctl in Path("/sys/fs/cgroup").iterdir():
            if ctl.is_dir() and not ctl.is_symlink() and (ctl / "cgroup.procs").exists() and ctl.name != "unified":
                (ctl / CGROUP_ROOT).mkdir(exist_ok=True)
        kubelet_kc = kubeconfig(f"system:node:{NODE_NAME}", "kubelet-client")
        kubelet = self.start("kubelet", [
            k8s_bin("kubelet"), f"--config={kubelet_config()}", f"--kubeconfig={kubelet_kc}",
            f"--root-dir={KUBELET_ROOT}", f"--hostname-override={NODE_NAME}", f"--node-ip={NODE_IP}",
            "--v=2",
        ])  # fmt: skip

        def node_ready() -> bool:
            out = self.kubectl("get", "node", NODE_NAME, "-o",
                               "jsonpath={.status.conditions[?(@.type=='Ready')].status}", check=False)  # fmt: skip
            return out.stdout.strip() == "True"

        wait_until(node_ready, timeout=120, what="node Ready", proc=kubelet, interval=0.5)
        self.mark("node_ready")

        proxy_kc = kubeconfig("system:kube-proxy", "kube-proxy")
        proxy = self.start("kube-proxy", [k8s_bin("kube-proxy"), f"--config={kube_proxy_config(proxy_kc)}", "--v=1"])

        def proxy_ok() -> bool:
            import urllib.request  # noqa: PLC0415

            with urllib.request.urlopen("http://127.0.0.1:10256/healthz", timeout=1) as r:
                return bool(r.status == 200)

        wait_until(proxy_ok, timeout=60, what="kube-proxy /healthz", proc=proxy, interval=0.3)
        self.mark("kube_proxy_ready")
        # Service DNS: CoreDNS (built by `make tools`, packed by tools/node/images.sh) as kube-dns at DNS_IP; the
        # chart's pods find each other by Service name, as on kind.
        manifest = (Path(__file__).parent / "manifests" / "coredns.yaml").read_text()
        coredns_ref = (IMAGES / "coredns.ref").read_text().strip()
        self.kubectl("apply", "-f", "-", stdin=manifest.replace("COREDNS_IMAGE", coredns_ref))
        self.kubectl("-n", "kube-system", "rollout", "status", "deploy/coredns", "--timeout=120s")
        self.mark("coredns_ready")
        (STATE / "timings.json").write_text(json.dumps(self.timings, indent=2) + "\n")
        log(f"READY: export KUBECONFIG={admin}")

    def rss(self) -> dict[str, int]:
        return {proc.name: proc.rss_bytes() // (1024 * 1024) for proc in self.procs if proc.alive()}

    def stop(self) -> None:
        """Controllers first (so deleted pods are not recreated), then every pod through the kubelet (sandboxes and
        CNI torn down properly), then the rest in reverse start order, then cleanup() for anything left."""
        by_name = {p.name: p for p in self.procs}
        for name in ("kube-controller-manager", "kube-scheduler"):
            if name in by_name:
                by_name[name].stop(grace=5)
        api, kubelet = by_name.get("kube-apiserver"), by_name.get("kubelet")
        if api is not None and api.alive() and kubelet is not None and kubelet.alive():
            t0 = time.monotonic()
            res = self.kubectl("delete", "pods", "--all", "--all-namespaces", "--grace-period=1", "--wait=false",
                               check=False)  # fmt: skip
            log(f"stopping: kubectl delete pods -> {res.returncode} {res.stderr.strip()[:200]}")
            with contextlib.suppress(cluster.ControlPlaneError):
                wait_until(lambda: not self.kubectl("get", "pods", "-A", "-o", "name", check=False).stdout.strip(),
                           timeout=60, what="every pod gone", interval=0.5)  # fmt: skip
            log(f"stopping: pods gone after {time.monotonic() - t0:.1f} s")
        for proc in reversed(self.procs):
            proc.stop(grace=10)
        self.procs.clear()
        cleanup()


# --- down / cleanup -----------------------------------------------------------------------------------------------


def _pids_with_arg(needle: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if needle in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                pids.append(int(entry.name))
    return [p for p in pids if p != os.getpid()]


# What identifies the node's processes: our own paths and flags in their command lines.
PROCESS_NEEDLES = [str(CTRD_SOCK), str(STATE / "containerd.toml"), str(KUBELET_ROOT), str(STATE / "kube-proxy-config"),
                   str(STATE / "etcd-data"), f"--advertise-address={NODE_IP}", str(STATE / "system:kube-")]  # fmt: skip
IPTABLES_TABLES = ("filter", "nat", "mangle")


def _our_chains(table: str) -> tuple[list[str], list[str]]:
    """(our chains in `table`, the table's rules as iptables-save prints them)."""
    rules = run("iptables-save", "-t", table, check=False, quiet=True).stdout.splitlines()
    chains = [
        r[1:].split()[0] for r in rules if r.startswith(":") and r[1:].startswith(("KUBE-", "CNI-", FORWARD_CHAIN))
    ]
    return chains, rules


def _our_mounts() -> list[str]:
    mounts = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()]
    return [m for m in mounts if m.startswith((str(KUBELET_ROOT), str(CTRD_STATE), str(CTRD_ROOT), "/run/netns/cni-"))]


def leftovers() -> dict[str, list[str]]:
    """What of the node is still on the machine: processes, iptables chains, links, cgroups, mounts, netns."""
    links = run("ip", "-o", "link", "show", check=False, quiet=True).stdout.splitlines()
    return {
        "processes": [str(pid) for pid in sorted({pid for n in PROCESS_NEEDLES for pid in _pids_with_arg(n)})],
        "iptables_chains": [f"{table}/{chain}" for table in IPTABLES_TABLES for chain in _our_chains(table)[0]],
        "links": [line.split(":")[1].strip() for line in links if "bplab" in line],
        "cgroups": [str(ctl / CGROUP_ROOT) for ctl in Path("/sys/fs/cgroup").iterdir() if (ctl / CGROUP_ROOT).is_dir()],
        "mounts": _our_mounts(),
        "netns": [ns.name for ns in Path("/run/netns").glob("cni-*")] if Path("/run/netns").is_dir() else [],
    }


def cleanup() -> None:  # noqa: PLR0912, PLR0915 (a checklist of independent removals)
    """Remove whatever the node left: our processes (found by our own paths in their command lines), mounts under
    our directories, CNI network namespaces that containerd made, kube-proxy's iptables rules, the cgroups under
    /bplab, the two bridges. Safe when nothing is there."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = sorted({pid for n in PROCESS_NEEDLES for pid in _pids_with_arg(n)})
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        if pids:
            log(f"{sig.name} to leftover pids {pids}")
            time.sleep(2)
    # containers still running in our cgroups (orphaned when a shim died): SIGKILL by the PIDs the cgroups list
    for _ in range(10):
        in_cgroups: set[int] = set()
        for procs_file in Path("/sys/fs/cgroup/pids", CGROUP_ROOT).rglob("cgroup.procs"):
            with contextlib.suppress(OSError, ValueError):
                in_cgroups.update(int(x) for x in procs_file.read_text().split())
        if not in_cgroups:
            break
        log(f"SIGKILL to container pids left in /{CGROUP_ROOT} cgroups: {sorted(in_cgroups)}")
        for pid in in_cgroups:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)
    # shims (containerd-shim-runc-v2 -address <our socket>)
    for pid in _pids_with_arg(f"-address {CTRD_SOCK}"):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    # mounts, deepest first
    for m in sorted(set(_our_mounts()), key=len, reverse=True):
        run("umount", "-l", m, check=False)
    # CNI network namespaces made for our pods (containerd names them cni-<uuid>; only if nothing else uses CNI netns)
    netns_dir = Path("/run/netns")
    if netns_dir.exists():
        for ns in netns_dir.glob("cni-*"):
            run("ip", "netns", "delete", ns.name, check=False)
    # kube-proxy's rules: its own --cleanup knows every chain it made
    kp = CACHE / f"kubernetes-{cluster.read_versions()['KUBERNETES_VERSION']}" / "bin" / "kube-proxy"
    if kp.exists():
        run(str(kp), "--cleanup", "--v=0", check=False, quiet=True)
    # the kubelet's own chains (KUBE-FIREWALL, KUBE-KUBELET-CANARY, KUBE-IPTABLES-HINT ...) and CNI's leftovers
    for table in IPTABLES_TABLES:
        chains, rules = _our_chains(table)
        for rule in rules:
            if rule.startswith("-A ") and any(f"-j {c}" in rule for c in chains) and rule.split()[1] not in chains:
                run("iptables", "-t", table, "-D", *shlex.split(rule)[1:], check=False, quiet=True)
        for c in chains:
            run("iptables", "-t", table, "-F", c, check=False, quiet=True)
        for c in chains:
            run("iptables", "-t", table, "-X", c, check=False, quiet=True)
    # cgroups below /bplab, deepest first; a killed container's cgroup empties a moment after SIGKILL, so retry
    for _ in range(20):
        left = []
        for ctl in Path("/sys/fs/cgroup").iterdir():
            root = ctl / CGROUP_ROOT
            if ctl.is_symlink() or not root.is_dir():
                continue
            dirs = [Path(dp) for dp, _dn, _fn in os.walk(root)]
            for d in sorted(dirs, key=lambda x: len(x.parts), reverse=True):
                try:
                    d.rmdir()
                except OSError:
                    left.append(d)
        if not left:
            break
        time.sleep(0.5)
    else:
        log(f"cgroups left (still hold processes?): {[str(d) for d in left[:5]]}")
    # veths still on our bridge (a pod network namespace the kernel keeps alive keeps its pair): delete the host end,
    # which removes the pair
    ports = run("ip", "-o", "link", "show", "master", CNI_BRIDGE, check=False, quiet=True).stdout.splitlines()
    for line in ports:
        name = line.split(":")[1].strip().split("@")[0]
        run("ip", "link", "delete", name, check=False)
    for br in (CNI_BRIDGE, NODE_BRIDGE):
        if run("ip", "link", "show", br, check=False, quiet=True).returncode == 0:
            run("ip", "link", "delete", br, check=False)
    shutil.rmtree(CNI_IPAM_DIR.parent, ignore_errors=True)  # /run/bplab-node: ours alone
    shutil.rmtree(STATE / "etcd-data", ignore_errors=True)
    shutil.rmtree(CTRD_STATE, ignore_errors=True)
    log("cleanup done")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["up", "down", "leftovers"])
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("needs root (containerd, kubelet, iptables, cgroups)")
    if args.command == "down":
        cleanup()
        return
    if args.command == "leftovers":
        found = leftovers()
        print(json.dumps(found))
        raise SystemExit(1 if any(found.values()) else 0)
    node = Node()
    stopping = {"flag": False, "ready": False}

    def on_signal(num: int, _frame: object) -> None:
        stopping["flag"] = True
        if not stopping["ready"]:
            raise KeyboardInterrupt(f"signal {num} during start")

    # cluster.py's own SIGTERM handler would kill every component at once (containers orphaned, pods never deleted);
    # this process stops them in order itself (Node.stop), so keep only its atexit safety net.
    cluster._HANDLERS_INSTALLED = True
    atexit.register(cluster.stop_all)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    try:
        node.up()
        (STATE / "ready").write_text(str(os.getpid()) + "\n")
        stopping["ready"] = True
        ready_at = time.monotonic()
        rss_taken = False
        while not stopping["flag"]:
            dead = [p.name for p in node.procs if not p.alive()]
            if dead:
                log(f"component(s) exited: {dead}; stopping the node")
                break
            if not rss_taken and time.monotonic() - ready_at >= 5:
                rss = node.rss()
                (STATE / "rss.json").write_text(json.dumps(rss, indent=2) + "\n")
                log(f"RSS MiB 5 s after ready: {rss} (total {sum(rss.values())})")
                rss_taken = True
            time.sleep(1)
    finally:
        with contextlib.suppress(FileNotFoundError):
            (STATE / "ready").unlink()
        node.stop()


if __name__ == "__main__":
    main()
