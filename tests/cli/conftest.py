from tests.services.conftest import lab

__all__ = ["lab"]
