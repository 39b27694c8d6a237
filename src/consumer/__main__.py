"""`bplab-consumer` / `python -m backpressure_lab.consumer`: run the consumer with uvicorn."""

from __future__ import annotations

from backpressure_lab.common.service import ServiceEnvironment, StartupError, fail_startup, load_settings_file, serve
from backpressure_lab.consumer.app import create_app
from backpressure_lab.consumer.settings import ConsumerSettings
from backpressure_lab.consumer.worker import ConsumerConfig


def main() -> None:
    try:
        environment = ServiceEnvironment.read(default_port=8001)
        settings = load_settings_file(environment.settings_file, "consumer", ConsumerSettings())
    except StartupError as error:
        fail_startup(error)
        return
    config = ConsumerConfig(admin_token=environment.admin_token, settings=settings)
    serve(create_app(config), environment)


if __name__ == "__main__":
    main()
