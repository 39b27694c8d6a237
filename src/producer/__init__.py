"""The producer: generates work items into an in-process queue and sends them to the consumer."""
