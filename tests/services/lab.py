"""Producer and consumer as real uvicorn processes on loopback, and a small JSON client for them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.ports import free_port, free_ports
from tests.waiting import poll

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    """Lower-case names."""
    body: Any


def call(method: str, url: str, body: object = None, *, raw: bytes | None = None, token: str | None = None) -> Reply:
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return Reply(response.status, _lower(response.headers.items()), _decode(response.read()))
    except urllib.error.HTTPError as error:
        return Reply(error.code, _lower(error.headers.items()), _decode(error.read()))


def _lower(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers}


def _decode(payload: bytes) -> Any:
    try:
        return json.loads(payload)
    except ValueError:
        return payload.decode(errors="replace")


@dataclass
class Service:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    token: str | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str) -> Any:
        reply = call("GET", self.url + path, token=self.token)
        assert reply.status == 200, reply
        return reply.body

    def post(self, path: str, body: object = None, **kwargs: Any) -> Reply:
        return call("POST", self.url + path, body, token=kwargs.pop("token", self.token), **kwargs)

    def admin(self, path: str, body: object) -> Any:
        reply = self.post(path, body)
        assert reply.status == 200, reply
        return reply.body

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = self.get("/status")
        return body

    def metrics(self) -> str:
        reply = call("GET", self.url + "/metrics")
        assert isinstance(reply.body, str)
        return reply.body

    def stderr(self) -> str:
        return self.log.read_text(errors="replace")


def start_service(name: str, port: int, log_dir: Path, extra_env: dict[str, str] | None = None) -> Service:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("OTEL_", "BPLAB_"))}
    env.update({"BPLAB_PORT": str(port), "BPLAB_HOST": "127.0.0.1", "PYTHONPATH": str(REPO)})
    env.update(extra_env or {})
    log = log_dir / f"{name}-{port}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", f"backpressure_lab.{name}"],
            cwd=REPO,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    service = Service(name, port, process, log, token=(extra_env or {}).get("BPLAB_ADMIN_TOKEN"))

    def alive() -> None:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}: {service.stderr()}")

    def ready() -> bool:
        return call("GET", service.url + "/readyz").status == 200

    if poll(ready, timeout=20, interval=0.05, not_yet=(OSError,), alive=alive).done:
        return service
    stop(service)
    raise RuntimeError(f"{name} was not ready within 20 s: {service.stderr()}")


def stop(service: Service) -> None:
    if service.process.poll() is None:
        os.killpg(service.process.pid, signal.SIGTERM)
        try:
            service.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(service.process.pid, signal.SIGKILL)
            service.process.wait()


@dataclass
class Lab:
    producer: Service
    consumer: Service
    services: list[Service] = field(default_factory=list)


@contextmanager
def running_lab(
    log_dir: Path, producer_env: dict[str, str] | None = None, consumer_env: dict[str, str] | None = None
) -> Iterator[Lab]:
    consumer_port, producer_port = free_ports(2)
    consumer = start_service("consumer", consumer_port, log_dir, consumer_env)
    try:
        producer = start_service(
            "producer",
            producer_port,
            log_dir,
            {"BPLAB_CONSUMER_URL": consumer.url, **(producer_env or {})},
        )
    except BaseException:
        stop(consumer)
        raise
    try:
        yield Lab(producer, consumer, [producer, consumer])
    finally:
        stop(producer)
        stop(consumer)


def settings_env(directory: Path, text: str) -> dict[str, str]:
    """Environment that starts a service from a settings file with `text` (YAML)."""
    path = directory / f"settings-{free_port()}.yaml"
    path.write_text(text)
    return {"BPLAB_SETTINGS_FILE": str(path)}


def wait_until(condition: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    """Whether `condition` held within `timeout` seconds. A connection error on the way (a service still starting or
    restarting) means "not yet", never the end of the wait."""
    return poll(condition, timeout=timeout, interval=interval, not_yet=(OSError,)).done


def metric_value(metrics_text: str, name: str, **labels: str) -> float:
    """One sample's value from Prometheus text format (labels must match exactly those given)."""
    for line in metrics_text.splitlines():
        if not line.startswith(name):
            continue
        series, _, value = line.rpartition(" ")
        if series == name and not labels:
            return float(value)
        if series.startswith(name + "{"):
            found = dict(part.split("=", 1) for part in series[len(name) + 1 : -1].split(","))
            if {key: val.strip('"') for key, val in found.items()} == labels:
                return float(value)
    raise KeyError(f"{name}{labels} not in metrics")
