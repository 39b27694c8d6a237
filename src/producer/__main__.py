"""`bplab-producer` / `python -m backpressure_lab.producer`: run the producer with uvicorn."""

from __future__ import annotations

import os

from backpressure_lab.common.service import ServiceEnvironment, StartupError, fail_startup, load_settings_file, serve
from backpressure_lab.producer.app import create_app
from backpressure_lab.producer.runtime import ProducerConfig
from backpressure_lab.producer.settings import ProducerSettings


def main() -> None:
    try:
        environment = ServiceEnvironment.read(default_port=8000)
        settings = load_settings_file(environment.settings_file, "producer", ProducerSettings())
    except StartupError as error:
        fail_startup(error)
        return
    config = ProducerConfig(
        consumer_url=os.environ.get("BPLAB_CONSUMER_URL", "http://127.0.0.1:8001"),
        admin_token=environment.admin_token,
        settings=settings,
    )
    serve(create_app(config), environment)


if __name__ == "__main__":
    main()
